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
    CurrentContextRestore restore;
    dev.make_current();
    CacheLookup found = build(variant, device_target(variant, ordinal), options);
    if (lookup) *lookup = found;
    std::lock_guard<std::mutex> lock(mutex_);
    auto key = std::make_pair(found.entry->key, ordinal);
    auto it = kernels_.find(key);
    if (it == kernels_.end()) it = kernels_.emplace(key, load(dev, variant, found.entry->compiled)).first;
    return *it->second;
}

void Runtime::check_problem(const Variant& variant, const AttentionProblem& problem, int ordinal,
                            const AttentionTensors* tensors) {
    problem.validate();
    const DeviceInfo* info = gpu_unavailable_reason().empty() ? &device(ordinal).info() : nullptr;
    Fit fit = can_implement(variant, FitQuery{&problem, info, 0, tensors});
    if (fit.ok() || fit.check == FitCheck::shared_memory) return;
    fail(Stage::validate, fit.code, "variant cannot take problem " + problem.to_string() + ": " + fit.message,
         variant.to_string());
}

CUdeviceptr Runtime::prepare_workspace(LoadedKernel& kernel, const LaunchDims& dims, CUstream stream,
                                       const Workspace* caller) {
    const Device& dev = kernel.device();
    const std::string& name = kernel.variant().to_string();
    // Counters are zeroed on the stream (asynchronously, so a capture records it as a memset
    // node); kernels leave their own counters zero, but another variant's partials may sit there.
    auto zero_counters = [&](CUdeviceptr base, const LoadedKernel*& zeroed_for) {
        if (dims.workspace_zero_bytes == 0 || zeroed_for == &kernel) return;
        dev.check(detail::driver_api().cuMemsetD8Async(base, 0, dims.workspace_zero_bytes, stream),
                  "cuMemsetD8Async(workspace counters)", name);
        zeroed_for = &kernel;
    };
    std::lock_guard<std::mutex> lock(mutex_);
    if (caller) {
        if (caller->data == 0 || caller->bytes < dims.workspace_bytes)
            fail(Stage::launch, ErrorCode::bad_input,
                 "workspace of " + std::to_string(caller->bytes) + " bytes" + (caller->data ? "" : " at a null address") +
                     " given; this plan needs " + std::to_string(dims.workspace_bytes) +
                     " bytes (AttentionPlan::workspace_bytes())",
                 name);
        zero_counters(caller->data, caller_workspaces_[caller->data]);
        return caller->data;
    }
    OwnedWorkspace& ws = workspaces_[{dev.info().ordinal, stream}];
    if (ws.buffer.bytes() < dims.workspace_bytes) {
        if (stream_is_capturing(stream, dev))
            fail(Stage::launch, ErrorCode::bad_input,
                 "this call needs a " + std::to_string(dims.workspace_bytes) +
                     "-byte workspace and its stream is being captured into a graph, where nothing may be "
                     "allocated: run the call once on this stream before the capture, or pass a Workspace",
                 name);
        ws.buffer = DeviceBuffer(dev, dims.workspace_bytes);
        ws.zeroed_for = nullptr;
    }
    zero_counters(ws.buffer.get(), ws.zeroed_for);
    return ws.buffer.get();
}

void Runtime::forget_workspace(CUdeviceptr data) {
    std::lock_guard<std::mutex> lock(mutex_);
    caller_workspaces_.erase(data);
}

Runtime::AttentionPlan Runtime::plan(LoadedKernel& kernel, const AttentionProblem& problem) {
    NameLookup names = problem_names(problem, &kernel.device().info());
    AttentionPlan plan{&kernel, derive_launch(kernel.variant(), names), nullptr, kernel.variant().to_string()};
    if (kernel.variant().schema().launch.has_tensor_maps())
        plan.args = std::make_shared<KernelArguments>(derive_kernel_args(kernel.variant(), names),
                                                      kernel.variant().to_string());
    return plan;
}

void Runtime::launch(const AttentionPlan& plan, const AttentionProblem& problem, const AttentionTensors& tensors,
                     CUstream stream, const Workspace* workspace) {
    check_tensors(problem, tensors, plan.variant);
    CurrentContextRestore restore;
    launch_current(plan, problem, tensors, stream, workspace);
}

void Runtime::launch_current(const AttentionPlan& plan, const AttentionProblem& problem,
                             const AttentionTensors& tensors, CUstream stream, const Workspace* workspace) {
    plan.kernel->device().make_current();
    CUdeviceptr scratch = plan.dims.workspace_bytes ? prepare_workspace(*plan.kernel, plan.dims, stream, workspace) : 0;
    FcAttentionParams params = make_attention_params(problem, tensors, scratch);
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
    h = (h ^ hash_value(k.layout)) * 0x100000001b3ull;
    h = (h ^ std::hash<std::string>{}(k.request)) * 0x100000001b3ull;
    return (h ^ static_cast<std::size_t>(k.ordinal)) * 0x100000001b3ull;
}

template <class Choose>
const Runtime::AttentionPlan& Runtime::plan_for(const PlanKey& key, const AttentionTensors& tensors, Choose&& choose) {
    {
        std::shared_lock<std::shared_mutex> lock(plans_mutex_);
        auto it = plans_.find(key);
        if (it != plans_.end()) return *it->second;
    }
    Selection chosen = choose();
    Variant v = variant(chosen.variant, &key.problem);
    check_problem(v, key.problem, key.ordinal, &tensors);
    auto made = std::make_unique<const AttentionPlan>(plan(kernel(v, key.ordinal), key.problem));
    detail::log().info("attention plan {} -> {} ({}: {})", key.problem.to_string(), chosen.variant, chosen.source,
                       chosen.why);
    std::unique_lock<std::shared_mutex> lock(plans_mutex_);
    return *plans_.emplace(key, std::move(made)).first->second;  // a racing thread's plan is as good
}

const Runtime::AttentionPlan& Runtime::prepare(const AttentionProblem& problem, const AttentionTensors& tensors,
                                               const std::string& text, int ordinal) {
    return plan_for(PlanKey{problem, layout_of(tensors), text, ordinal}, tensors, [&] {
        return Selection{variant(text, &problem).to_string(), "explicit", "given by the caller"};
    });
}

const Runtime::AttentionPlan& Runtime::prepare(const AttentionProblem& problem, const AttentionTensors& tensors,
                                               VariantChooser& chooser, int ordinal) {
    return plan_for(PlanKey{problem, layout_of(tensors), chooser.request(), ordinal}, tensors,
                    [&] { return chooser.choose(*this, problem, ordinal, &tensors); });
}

void Runtime::attention(const AttentionProblem& problem, const AttentionTensors& tensors, CUstream stream,
                        const std::string& text, int ordinal, const Workspace* workspace) {
    check_tensors(problem, tensors);  // before any driver call: bad views are bad input anywhere
    const AttentionPlan& plan = prepare(problem, tensors, text, ordinal);  // kernel() restores the context itself
    CurrentContextRestore restore;
    launch_current(plan, problem, tensors, stream, workspace);
}

void Runtime::attention(const AttentionProblem& problem, const AttentionTensors& tensors, CUstream stream,
                        VariantChooser& chooser, int ordinal, const Workspace* workspace) {
    check_tensors(problem, tensors);  // before any driver call: bad views are bad input anywhere
    const AttentionPlan& plan = prepare(problem, tensors, chooser, ordinal);
    CurrentContextRestore restore;
    launch_current(plan, problem, tensors, stream, workspace);
}

}  // namespace flashcore
