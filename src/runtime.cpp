#include "flashcore/runtime.hpp"

#include <cstring>

#include "driver_api.hpp"
#include "flashcore/error.hpp"
#include "logging.hpp"

namespace flashcore {

Runtime::Runtime(Config config) : config_(std::move(config)), templates_(config_.template_dirs) {
    detail::set_log_level(config_.log_level);
    set_driver_library(config_.driver_library);
    cache_ = std::make_unique<KernelCache>(config_, templates_, Toolkit::locate(config_.cuda_home));
}

Runtime::~Runtime() {
    // Kernels and workspaces hold references to devices: release them first.
    workspaces_.clear();
    kernels_.clear();
    devices_.clear();
}

Variant Runtime::variant(const std::string& text, const AttentionProblem* problem) const {
    if (!problem) return parse_variant(text, templates_);
    return parse_variant(text, templates_, problem_names(*problem));
}

CacheLookup Runtime::build(const Variant& variant, const Target& target, const CompileOptions& options) {
    Target exact = target_for(variant.schema(), target);
    if (exact.sm < variant.schema().min_sm)
        fail(Stage::validate, ErrorCode::bad_input,
             "template '" + variant.template_id() + "' needs sm_" + std::to_string(variant.schema().min_sm) +
                 " or newer, not " + exact.to_string(),
             variant.to_string(), exact.to_string());
    return cache_->get(variant, options, exact);
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
    if (it == kernels_.end())
        it = kernels_.emplace(key, std::make_unique<LoadedKernel>(dev, variant, found.entry)).first;
    return *it->second;
}

void Runtime::check_problem(const Variant& variant, const AttentionProblem& problem, int ordinal) {
    problem.validate();
    const DeviceInfo* info = nullptr;
    if (gpu_unavailable_reason().empty()) info = &device(ordinal).info();
    NameLookup names = variant.names(problem_names(problem, info));
    for (const auto& check : variant.schema().problem_checks) {
        if (check.expr.evaluate_int(names)) continue;
        fail(Stage::validate, ErrorCode::bad_problem,
             "variant cannot take problem " + problem.to_string() + ": " + substitute_names(check.message, names),
             variant.to_string());
    }
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
    return {&kernel, derive_launch(kernel.variant(), problem_names(problem, &kernel.device().info()))};
}

void Runtime::launch(const AttentionPlan& plan, const AttentionProblem& problem, const AttentionBuffers& buffers,
                     CUstream stream) {
    CUdeviceptr workspace = plan.dims.workspace_bytes ? prepare_workspace(*plan.kernel, plan.dims, stream) : 0;
    FcAttentionParams params = make_attention_params(problem, buffers, workspace);
    void* args[] = {&params};
    plan.kernel->launch(plan.dims, args, stream);
}

std::size_t Runtime::PlanKeyHash::operator()(const PlanKey& k) const noexcept {
    std::size_t h = std::hash<std::string>{}(k.variant);
    for (std::uint64_t v : {std::uint64_t(k.B), std::uint64_t(k.Hq), std::uint64_t(k.Hkv), std::uint64_t(k.Sq),
                            std::uint64_t(k.Skv), std::uint64_t(k.D), std::uint64_t(k.flags), std::uint64_t(k.ordinal),
                            std::uint64_t(k.scale_bits)})
        h = (h ^ v) * 0x100000001b3ull;
    return h;
}

Runtime::PlanKey Runtime::plan_key(const AttentionProblem& p, const std::string& variant, int ordinal) {
    PlanKey key{p.B, p.Hq, p.Hkv, p.Sq, p.Skv, p.D,
                int(p.causal) | int(p.with_lse) << 1 | int(p.dtype) << 2, ordinal, 0, variant};
    std::memcpy(&key.scale_bits, &p.scale, sizeof key.scale_bits);
    return key;
}

Selection Runtime::resolve(const AttentionProblem& problem, const std::string& variant_text, int ordinal) {
    if (variant_text == "auto") return select_variant(*this, problem, device(ordinal).info());
    return {variant(variant_text, &problem).to_string(), "explicit", "given by the caller"};
}

void Runtime::attention(const AttentionProblem& problem, const AttentionBuffers& buffers, CUstream stream,
                        const std::string& variant_text, int ordinal) {
    PlanKey key = plan_key(problem, variant_text, ordinal);
    AttentionPlan found;
    {
        std::shared_lock<std::shared_mutex> lock(plans_mutex_);
        auto it = plans_.find(key);
        if (it != plans_.end()) found = it->second;
    }
    if (!found.kernel) {
        Selection chosen = resolve(problem, variant_text, ordinal);
        Variant v = variant(chosen.variant, &problem);
        check_problem(v, problem, ordinal);
        found = plan(kernel(v, ordinal), problem);
        detail::log().info("attention plan {} -> {} ({}: {})", problem.to_string(), chosen.variant, chosen.source, chosen.why);
        std::unique_lock<std::shared_mutex> lock(plans_mutex_);
        plans_.emplace(std::move(key), found);
    }
    launch(found, problem, buffers, stream);
}

}  // namespace flashcore
