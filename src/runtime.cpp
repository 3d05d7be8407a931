#include "flashcore/runtime.hpp"

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
        ws.zeroed_for = kernel.variant().to_string();
    } else if (dims.workspace_zero_bytes > 0 && ws.zeroed_for != kernel.variant().to_string()) {
        // Kernels leave their own counters zero; another variant's partials may sit there.
        dev.check(detail::driver_api().cuMemsetD8Async(ws.buffer.get(), 0, dims.workspace_zero_bytes, stream),
                  "cuMemsetD8Async(workspace counters)", kernel.variant().to_string());
        ws.zeroed_for = kernel.variant().to_string();
    }
    return ws.buffer.get();
}

void Runtime::launch_attention(LoadedKernel& kernel, const AttentionProblem& problem, const AttentionBuffers& buffers,
                               CUstream stream) {
    const DeviceInfo& info = kernel.device().info();
    LaunchDims dims = derive_launch(kernel.variant(), problem_names(problem, &info));
    CUdeviceptr workspace = prepare_workspace(kernel, dims, stream);
    FcAttentionParams params = make_attention_params(problem, buffers, workspace);
    void* args[] = {&params};
    kernel.launch(dims, args, stream);
}

}  // namespace flashcore
