#include "flashcore/load.hpp"

#include "core/driver_api.hpp"
#include "core/nvtx.hpp"

namespace flashcore {

LoadedKernel::LoadedKernel(const Device& device, Variant variant, const Compiled& compiled)
    : device_(device), variant_(std::move(variant)), module_(device, compiled.cubin, variant_.to_string()) {
    const auto& api = detail::driver_api();
    function_ = module_.function(compiled.lowered_name);
    auto attribute = [&](CUfunction_attribute a, const char* what) {
        int value = 0;
        device_.check(api.cuFuncGetAttribute(&value, a, function_), what, variant_.to_string(), Stage::load);
        return value;
    };
    static_smem_ = attribute(CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES, "cuFuncGetAttribute(static smem)");
    registers_ = attribute(CU_FUNC_ATTRIBUTE_NUM_REGS, "cuFuncGetAttribute(registers)");
    max_threads_ = attribute(CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK, "cuFuncGetAttribute(max threads)");
    dynamic_limit_ = static_cast<std::size_t>(
        attribute(CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, "cuFuncGetAttribute(dynamic smem limit)"));
}

void LoadedKernel::ensure_dynamic_smem(std::size_t bytes) {
    // Raised whenever the request exceeds the current limit (not only above 48 KB).
    if (bytes <= dynamic_limit_.load(std::memory_order_relaxed)) return;
    device_.check(detail::driver_api().cuFuncSetAttribute(function_, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                                                          static_cast<int>(bytes)),
                  "cuFuncSetAttribute(max dynamic smem = " + std::to_string(bytes) + ")", variant_.to_string());
    dynamic_limit_.store(bytes, std::memory_order_relaxed);
}

std::unique_ptr<LoadedKernel> load(const Device& device, const Variant& variant, const Compiled& compiled) {
    detail::NvtxRange range("flashcore load", variant.to_string());
    return std::make_unique<LoadedKernel>(device, variant, compiled);
}

}  // namespace flashcore
