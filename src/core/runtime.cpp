#include "flashcore/runtime.hpp"

#include "core/driver_api.hpp"
#include "core/logging.hpp"
#include "flashcore/can_implement.hpp"
#include "flashcore/error.hpp"
#include "flashcore/problem_names.hpp"

namespace flashcore {

Runtime::Runtime(Config config) : config_(std::move(config)), templates_(config_.template_dirs) {
    detail::set_log_level(config_.log_level);
    set_driver_library(config_.driver_library);
    cache_ = std::make_unique<KernelCache>(config_, templates_, Toolkit::locate(config_.cuda_home, config_.nvrtc_library));
}

Runtime::~Runtime() {
    // Plans, kernels and workspaces hold references to devices: release them first.
    plans_.clear();
    workspaces_.clear();
    kernels_.clear();
    devices_.clear();
}

Variant Runtime::variant(const std::string& text, const AttentionProblem* problem) const {
    if (!problem) return parse_variant(text, templates_);
    return parse_variant(text, templates_, problem_names(*problem));
}

Device& Runtime::device(int ordinal) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = devices_.find(ordinal);
    if (it != devices_.end()) return *it->second;
    auto device = std::make_unique<Device>(ordinal);
    return *devices_.emplace(ordinal, std::move(device)).first->second;
}

Target Runtime::device_target(const Variant& variant, int ordinal) {
    Target t;
    t.sm = device(ordinal).info().sm;
    return target_for(variant.schema(), t);
}

LoadedKernel& Runtime::kernel(const Variant& variant, int ordinal, const CompileOptions& options, CacheLookup* lookup) {
    Device& dev = device(ordinal);
    dev.make_current();
    CacheLookup found = build(variant, device_target(variant, ordinal), options);
    if (lookup) *lookup = found;
    std::lock_guard<std::mutex> lock(mutex_);
    auto key = std::make_pair(found.entry->key, ordinal);
    auto it = kernels_.find(key);
    if (it == kernels_.end()) it = kernels_.emplace(key, load(dev, variant, found.entry->compiled)).first;
    return *it->second;
}

void Runtime::check_problem(const Variant& variant, const AttentionProblem& problem, int ordinal) {
    problem.validate();
    const DeviceInfo* info = gpu_unavailable_reason().empty() ? &device(ordinal).info() : nullptr;
    Fit fit = can_implement(variant, FitQuery{&problem, info, 0});
    if (fit.ok() || fit.check == FitCheck::shared_memory) return;
    fail(Stage::validate, fit.code, "variant cannot take problem " + problem.to_string() + ": " + fit.message,
         variant.to_string());
}

CUdeviceptr Runtime::prepare_workspace(LoadedKernel& kernel, const LaunchDims& dims, CUstream stream) {
    if (dims.workspace_bytes == 0) return 0;
    const Device& dev = kernel.device();
    std::lock_guard<std::mutex> lock(mutex_);
    Workspace& ws = workspaces_[{dev.info().ordinal, stream}];
    if (ws.buffer.bytes() < dims.workspace_bytes) {
        ws.buffer = DeviceBuffer(dev, dims.workspace_bytes);
        ws.buffer.fill_u8(0);
        ws.zeroed_for = &kernel;
    } else if (dims.workspace_zero_bytes > 0 && ws.zeroed_for != &kernel) {
        // Kernels leave their own counters zero; another variant's partials may sit there.
        dev.check(detail::driver_api().cuMemsetD8Async(ws.buffer.get(), 0, dims.workspace_zero_bytes, stream),
                  "cuMemsetD8Async(workspace counters)", kernel.variant().to_string());
        ws.zeroed_for = &kernel;
    }
    return ws.buffer.get();
}

Runtime::AttentionPlan Runtime::plan(LoadedKernel& kernel, const AttentionProblem& problem) {
    NameLookup names = problem_names(problem, &kernel.device().info());
    AttentionPlan plan{&kernel, derive_launch(kernel.variant(), names), nullptr};
    if (kernel.variant().schema().launch.has_tensor_maps())
        plan.args = std::make_shared<KernelArguments>(derive_kernel_args(kernel.variant(), names),
                                                      kernel.variant().to_string());
    return plan;
}

void Runtime::launch(const AttentionPlan& plan, const AttentionProblem& problem, const AttentionBuffers& buffers,
                     CUstream stream) {
    CUdeviceptr workspace = plan.dims.workspace_bytes ? prepare_workspace(*plan.kernel, plan.dims, stream) : 0;
    FcAttentionParams params = make_attention_params(problem, buffers, workspace);
    if (!plan.args) {
        void* args[] = {&params};
        flashcore::launch(*plan.kernel, plan.dims, args, stream);
        return;
    }
    // The argument cache is shared by every caller of this plan: bind and launch under its lock
    // (the driver copies the arguments during the launch call).
    std::lock_guard<std::mutex> lock(plan.args->mutex());
    void** args = plan.args->bind(params, problem, plan.kernel->device());
    flashcore::launch(*plan.kernel, plan.dims, args, stream);
}

std::size_t Runtime::PlanKeyHash::operator()(const PlanKey& k) const noexcept {
    std::size_t h = std::hash<AttentionProblem>{}(k.problem);
    h = (h ^ std::hash<std::string>{}(k.request)) * 0x100000001b3ull;
    return (h ^ static_cast<std::size_t>(k.ordinal)) * 0x100000001b3ull;
}

template <class Choose>
const Runtime::AttentionPlan& Runtime::plan_for(const PlanKey& key, Choose&& choose) {
    {
        std::shared_lock<std::shared_mutex> lock(plans_mutex_);
        auto it = plans_.find(key);
        if (it != plans_.end()) return *it->second;
    }
    Selection chosen = choose();
    Variant v = variant(chosen.variant, &key.problem);
    check_problem(v, key.problem, key.ordinal);
    auto made = std::make_unique<const AttentionPlan>(plan(kernel(v, key.ordinal), key.problem));
    detail::log().info("attention plan {} -> {} ({}: {})", key.problem.to_string(), chosen.variant, chosen.source,
                       chosen.why);
    std::unique_lock<std::shared_mutex> lock(plans_mutex_);
    return *plans_.emplace(key, std::move(made)).first->second;  // a racing thread's plan is as good
}

void Runtime::attention(const AttentionProblem& problem, const AttentionBuffers& buffers, CUstream stream,
                        const std::string& text, int ordinal) {
    const AttentionPlan& p = plan_for(PlanKey{problem, text, ordinal}, [&] {
        return Selection{variant(text, &problem).to_string(), "explicit", "given by the caller"};
    });
    launch(p, problem, buffers, stream);
}

void Runtime::attention(const AttentionProblem& problem, const AttentionBuffers& buffers, CUstream stream,
                        VariantChooser& chooser, int ordinal) {
    const AttentionPlan& p = plan_for(PlanKey{problem, chooser.request(), ordinal},
                                      [&] { return chooser.choose(*this, problem, ordinal); });
    launch(p, problem, buffers, stream);
}

}  // namespace flashcore
