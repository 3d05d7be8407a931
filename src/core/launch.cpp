#include "flashcore/launch.hpp"

#include <cstdio>

#include "core/driver_api.hpp"
#include "core/nvtx.hpp"
#include "flashcore/error.hpp"

namespace flashcore {

namespace {

// Throws inside derive: try_derive_launch turns it into an answer (an expression of the schema
// that cannot be evaluated is reported the same way as an out-of-range value).
struct Refused {
    ErrorCode code;
    std::string message;
};

LaunchDims derive(const Variant& variant, const NameLookup& problem) {
    const LaunchContract& contract = variant.schema().launch;
    NameLookup names = variant.names(problem);
    LaunchDims dims;
    auto positive = [&](const Expression& e, const std::string& what, std::int64_t limit) {
        std::int64_t v = e.evaluate_int(names);
        if (v < 1 || v > limit)
            throw Refused{ErrorCode::bad_problem, "launch " + what + " = " + std::to_string(v) + " (from '" + e.text() +
                                                      "') is outside 1.." + std::to_string(limit)};
        return static_cast<unsigned>(v);
    };
    static const char* const kAxes[] = {"x", "y", "z"};
    for (size_t i = 0; i < contract.grid.size(); ++i)
        dims.grid[i] = positive(contract.grid[i], std::string("grid.") + kAxes[i], i == 0 ? 0x7fffffffll : 65535);
    dims.block = positive(contract.block, "block", 1024);
    auto bytes = [&](const Expression& e, const char* what) {
        std::int64_t v = e.evaluate_int(names);
        if (v < 0) throw Refused{ErrorCode::bad_input, std::string("launch ") + what + " is negative"};
        return static_cast<std::size_t>(v);
    };
    dims.dynamic_smem = bytes(contract.dynamic_smem, "dynamic_smem");
    dims.workspace_bytes = bytes(contract.workspace_bytes, "workspace_bytes");
    dims.workspace_zero_bytes = bytes(contract.workspace_zero_bytes, "workspace_zero_bytes");
    if (dims.workspace_zero_bytes > dims.workspace_bytes)
        throw Refused{ErrorCode::bad_input, "launch workspace_zero_bytes exceeds workspace_bytes"};
    dims.programmatic = contract.programmatic.evaluate_int(names) != 0;
    for (size_t i = 0; i < contract.cluster.size(); ++i)
        dims.cluster[i] = positive(contract.cluster[i], std::string("cluster.") + kAxes[i], kMaxPortableCluster);
    if (dims.cluster[0] * dims.cluster[1] * dims.cluster[2] > kMaxPortableCluster)
        throw Refused{ErrorCode::bad_input, "launch cluster " + std::to_string(dims.cluster[0]) + "x" +
                                                std::to_string(dims.cluster[1]) + "x" + std::to_string(dims.cluster[2]) +
                                                " holds more than the portable maximum of " +
                                                std::to_string(kMaxPortableCluster) + " CTAs"};
    for (size_t i = 0; i < 3; ++i)
        if (dims.grid[i] % dims.cluster[i] != 0)
            throw Refused{ErrorCode::bad_problem, std::string("launch grid.") + kAxes[i] + " = " +
                                                      std::to_string(dims.grid[i]) + " is not a multiple of cluster." +
                                                      kAxes[i] + " = " + std::to_string(dims.cluster[i]) +
                                                      " (round the grid up to whole clusters in the schema)"};
    return dims;
}

}  // namespace

std::optional<LaunchDims> try_derive_launch(const Variant& variant, const NameLookup& problem, std::string* why,
                                            ErrorCode* code) {
    try {
        return derive(variant, problem);
    } catch (const Refused& r) {
        if (why) *why = r.message;
        if (code) *code = r.code;
    } catch (const Error& e) {  // an expression names something the lookup does not know, or divides by 0
        if (why) *why = e.info().message;
        if (code) *code = ErrorCode::bad_input;
    }
    return std::nullopt;
}

LaunchDims derive_launch(const Variant& variant, const NameLookup& problem) {
    std::string why;
    ErrorCode code = ErrorCode::bad_input;
    if (auto dims = try_derive_launch(variant, problem, &why, &code)) return *dims;
    fail(Stage::launch, code, why, variant.to_string());
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
    if (!dims.programmatic && !dims.clustered())
        return api.cuLaunchKernel(function, dims.grid[0], dims.grid[1], dims.grid[2], dims.block, 1, 1,
                                  static_cast<unsigned>(dims.dynamic_smem), stream, args, nullptr);
    CUlaunchAttribute attributes[2] = {};
    unsigned count = 0;
    if (dims.programmatic) {
        attributes[count].id = CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION;
        attributes[count++].value.programmaticStreamSerializationAllowed = 1;
    }
    if (dims.clustered()) {
        attributes[count].id = CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION;
        attributes[count].value.clusterDim.x = dims.cluster[0];
        attributes[count].value.clusterDim.y = dims.cluster[1];
        attributes[count++].value.clusterDim.z = dims.cluster[2];
    }
    CUlaunchConfig config{};
    config.gridDimX = dims.grid[0];
    config.gridDimY = dims.grid[1];
    config.gridDimZ = dims.grid[2];
    config.blockDimX = dims.block;
    config.blockDimY = 1;
    config.blockDimZ = 1;
    config.sharedMemBytes = static_cast<unsigned>(dims.dynamic_smem);
    config.hStream = stream;
    config.attrs = attributes;
    config.numAttrs = count;
    return api.cuLaunchKernelEx(&config, function, args, nullptr);
}

std::string launch_call_name(const LaunchDims& dims) {
    if (!dims.programmatic && !dims.clustered()) return "cuLaunchKernel";
    std::string what = dims.programmatic ? "programmatic stream serialization" : "";
    if (dims.clustered())
        what += std::string(what.empty() ? "" : ", ") + "cluster " + std::to_string(dims.cluster[0]) + "x" +
                std::to_string(dims.cluster[1]) + "x" + std::to_string(dims.cluster[2]);
    return "cuLaunchKernelEx(" + what + ")";
}

void launch(LoadedKernel& kernel, const LaunchDims& dims, void** args, CUstream stream) {
    detail::NvtxRange range(detail::nvtx_launch_message());
    const Device& device = kernel.device();
    device.make_current();
    const std::string& name = kernel.variant().to_string();
    if (static_cast<int>(dims.block) > kernel.max_threads())
        fail(Stage::launch, ErrorCode::resource_exceeded,
             "block of " + std::to_string(dims.block) + " threads exceeds this kernel's limit of " +
                 std::to_string(kernel.max_threads()) + " (registers: " + std::to_string(kernel.registers()) + ")",
             name);
    std::string overflow = shared_memory_overflow(static_cast<std::size_t>(kernel.static_smem()), dims.dynamic_smem,
                                                  static_cast<std::size_t>(device.info().smem_per_block_optin),
                                                  device.info().name);
    if (!overflow.empty()) {
        ErrorInfo info;
        info.stage = Stage::launch;
        info.code = ErrorCode::resource_exceeded;
        info.message = "shared memory: " + overflow + "; choose smaller tiles or fewer stages for this device";
        info.variant = name;
        info.arch = "sm_" + std::to_string(device.info().sm);
        throw Error(std::move(info));
    }
    kernel.ensure_dynamic_smem(dims.dynamic_smem);
    device.note_launch(&name);
    device.check(launch_raw(kernel.function(), dims, args, stream), launch_call_name(dims), name);
}

}  // namespace flashcore
