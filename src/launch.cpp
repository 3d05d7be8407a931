#include "flashcore/launch.hpp"

#include <cstdio>

#include "driver_api.hpp"
#include "flashcore/error.hpp"

namespace flashcore {

LaunchDims derive_launch(const Variant& variant, const NameLookup& problem) {
    const LaunchContract& contract = variant.schema().launch;
    NameLookup names = variant.names(problem);
    LaunchDims dims;
    auto positive = [&](const Expression& e, const char* what, std::int64_t limit) {
        std::int64_t v = e.evaluate_int(names);
        if (v < 1 || v > limit)
            fail(Stage::launch, ErrorCode::bad_problem,
                 std::string("launch ") + what + " = " + std::to_string(v) + " (from '" + e.text() + "') is outside 1.." +
                     std::to_string(limit),
                 variant.to_string());
        return static_cast<unsigned>(v);
    };
    for (size_t i = 0; i < contract.grid.size(); ++i)
        dims.grid[i] = positive(contract.grid[i], i == 0 ? "grid.x" : i == 1 ? "grid.y" : "grid.z",
                                i == 0 ? 0x7fffffffll : 65535);
    dims.block = positive(contract.block, "block", 1024);
    auto bytes = [&](const Expression& e, const char* what) {
        std::int64_t v = e.evaluate_int(names);
        if (v < 0)
            fail(Stage::launch, ErrorCode::bad_input, std::string("launch ") + what + " is negative", variant.to_string());
        return static_cast<std::size_t>(v);
    };
    dims.dynamic_smem = bytes(contract.dynamic_smem, "dynamic_smem");
    dims.workspace_bytes = bytes(contract.workspace_bytes, "workspace_bytes");
    dims.workspace_zero_bytes = bytes(contract.workspace_zero_bytes, "workspace_zero_bytes");
    if (dims.workspace_zero_bytes > dims.workspace_bytes)
        fail(Stage::launch, ErrorCode::bad_input, "launch workspace_zero_bytes exceeds workspace_bytes", variant.to_string());
    dims.programmatic = contract.programmatic.evaluate_int(names) != 0;
    return dims;
}

int known_smem_optin(int sm) {
    // CUDA programming guide, "Technical Specifications per Compute Capability".
    switch (sm) {
        case 70: case 72: return 96 * 1024;
        case 75: return 64 * 1024;
        case 80: case 87: return 163 * 1024;
        case 86: case 89: case 120: case 121: return 99 * 1024;
        case 90: case 100: case 103: case 110: return 227 * 1024;
        default: return 0;
    }
}

std::string shared_memory_overflow(std::size_t static_bytes, std::size_t dynamic_bytes, std::size_t optin_bytes,
                                   const std::string& where) {
    if (static_bytes + dynamic_bytes <= optin_bytes) return {};
    auto kb = [](std::size_t b) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.1f", b / 1024.0);
        return std::string(buf);
    };
    return "requested " + kb(static_bytes + dynamic_bytes) + " KB (static " + kb(static_bytes) + " + dynamic " +
           kb(dynamic_bytes) + ") > opt-in max " + kb(optin_bytes) + " KB on " + where + " (" +
           std::to_string(static_bytes + dynamic_bytes) + " > " + std::to_string(optin_bytes) + " bytes)";
}

CUresult launch_raw(CUfunction function, const LaunchDims& dims, void** args, CUstream stream) {
    const auto& api = detail::driver_api();
    if (!dims.programmatic)
        return api.cuLaunchKernel(function, dims.grid[0], dims.grid[1], dims.grid[2], dims.block, 1, 1,
                                  static_cast<unsigned>(dims.dynamic_smem), stream, args, nullptr);
    CUlaunchAttribute attribute{};
    attribute.id = CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION;
    attribute.value.programmaticStreamSerializationAllowed = 1;
    CUlaunchConfig config{};
    config.gridDimX = dims.grid[0];
    config.gridDimY = dims.grid[1];
    config.gridDimZ = dims.grid[2];
    config.blockDimX = dims.block;
    config.blockDimY = 1;
    config.blockDimZ = 1;
    config.sharedMemBytes = static_cast<unsigned>(dims.dynamic_smem);
    config.hStream = stream;
    config.attrs = &attribute;
    config.numAttrs = 1;
    return api.cuLaunchKernelEx(&config, function, args, nullptr);
}

LoadedKernel::LoadedKernel(const Device& device, Variant variant, std::shared_ptr<const CacheEntry> entry)
    : device_(device),
      variant_(std::move(variant)),
      entry_(std::move(entry)),
      module_(device, entry_->compiled.cubin, variant_.to_string()) {
    const auto& api = detail::driver_api();
    function_ = module_.function(entry_->compiled.lowered_name);
    auto attribute = [&](CUfunction_attribute a, const char* what) {
        int value = 0;
        device_.check(api.cuFuncGetAttribute(&value, a, function_), what, variant_.to_string());
        return value;
    };
    static_smem_ = attribute(CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES, "cuFuncGetAttribute(static smem)");
    registers_ = attribute(CU_FUNC_ATTRIBUTE_NUM_REGS, "cuFuncGetAttribute(registers)");
    max_threads_ = attribute(CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK, "cuFuncGetAttribute(max threads)");
    dynamic_limit_ = static_cast<std::size_t>(
        attribute(CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, "cuFuncGetAttribute(dynamic smem limit)"));
}

void LoadedKernel::launch(const LaunchDims& dims, void** args, CUstream stream) {
    const auto& api = detail::driver_api();
    device_.make_current();
    const std::string& name = variant_.to_string();
    if (static_cast<int>(dims.block) > max_threads_)
        fail(Stage::launch, ErrorCode::resource_exceeded,
             "block of " + std::to_string(dims.block) + " threads exceeds this kernel's limit of " +
                 std::to_string(max_threads_) + " (registers: " + std::to_string(registers_) + ")",
             name);
    std::string overflow = shared_memory_overflow(static_cast<std::size_t>(static_smem_), dims.dynamic_smem,
                                                  static_cast<std::size_t>(device_.info().smem_per_block_optin),
                                                  device_.info().name);
    if (!overflow.empty()) {
        ErrorInfo info;
        info.stage = Stage::launch;
        info.code = ErrorCode::resource_exceeded;
        info.message = "shared memory: " + overflow + "; choose smaller tiles or fewer stages for this device";
        info.variant = name;
        info.arch = "sm_" + std::to_string(device_.info().sm);
        throw Error(std::move(info));
    }
    // Raise the dynamic limit whenever the request exceeds the current one (not only > 48 KB).
    if (dims.dynamic_smem > dynamic_limit_.load(std::memory_order_relaxed)) {
        device_.check(api.cuFuncSetAttribute(function_, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                                             static_cast<int>(dims.dynamic_smem)),
                      "cuFuncSetAttribute(max dynamic smem = " + std::to_string(dims.dynamic_smem) + ")", name);
        dynamic_limit_.store(dims.dynamic_smem, std::memory_order_relaxed);
    }
    device_.note_launch(&name);
    device_.check(launch_raw(function_, dims, args, stream),
                  dims.programmatic ? "cuLaunchKernelEx(programmatic stream serialization)" : "cuLaunchKernel", name);
}

}  // namespace flashcore
