// Kernel arguments beyond the parameter struct: TMA tensor maps (sm_90+), passed by value as
// 128-byte objects after FcAttentionParams in the order the schema's launch.args lists them.
//
// A tensor map views one operand (q, k, v or o) as a rank-4 tensor with dims, innermost
// first, (D, S, H, B) — S, H = Sq, Hq for q and o, Skv, Hkv for k and v — and global strides
// in bytes taken from the element strides in FcAttentionParams ([2] row, [1] head, [0] batch),
// so views with other strides need no change here. Element type from the problem's dtype;
// element strides 1, no interleave, out-of-bounds elements read as zero (and are not written
// by TMA stores). The kernel declares `struct alignas(64) FcTensorMap { unsigned long long
// v[16]; }` and takes each map as `const __grid_constant__ FcTensorMap`.
#pragma once

#include <cuda.h>

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "flashcore/attention.hpp"
#include "flashcore/driver.hpp"
#include "flashcore/schema.hpp"
#include "flashcore/variant.hpp"

namespace flashcore {

// A tensor_map argument with its box evaluated for one problem.
struct TensorMapSpec {
    TensorOperand tensor = TensorOperand::q;
    std::uint32_t box[4] = {1, 1, 1, 1};  // innermost first
    TensorSwizzle swizzle = TensorSwizzle::none;
    L2Promotion l2_promotion = L2Promotion::b128;
};

// One kernel parameter of a launch, in kernel-parameter order.
struct KernelArg {
    bool is_params = true;  // the FcAttentionParams struct
    TensorMapSpec map;      // otherwise: a tensor map
};

// The contract's kernel parameters for a problem (box expressions evaluated; each box entry
// must be 1..256). nullopt and why (an expression that fails, a box out of range) instead of
// throwing; derive_kernel_args throws Error(launch, bad_input) with the same message.
std::optional<std::vector<KernelArg>> try_derive_kernel_args(const Variant& variant, const NameLookup& problem,
                                                             std::string* why);
std::vector<KernelArg> derive_kernel_args(const Variant& variant, const NameLookup& problem);

// "" when the box suits the element type, else the rule it breaks: box dims 1..256,
// box[0] * element bytes a multiple of 16 and, with a swizzle, at most the swizzle span
// (32, 64 or 128 bytes). No pointers needed: can_implement asks it before any launch.
std::string tensor_map_box_problem(const TensorMapSpec& spec, DType dtype);

// The exact arguments of cuTensorMapEncodeTiled for one operand of one call.
struct TensorMapArguments {
    CUtensorMapDataType data_type = CU_TENSOR_MAP_DATA_TYPE_FLOAT16;
    cuuint32_t rank = 4;
    void* global_address = nullptr;
    cuuint64_t global_dim[4] = {};      // D, S, H, B
    cuuint64_t global_strides[3] = {};  // bytes between consecutive S, H, B indices
    cuuint32_t box_dim[4] = {};
    cuuint32_t element_strides[4] = {1, 1, 1, 1};
    CUtensorMapInterleave interleave = CU_TENSOR_MAP_INTERLEAVE_NONE;
    CUtensorMapSwizzle swizzle = CU_TENSOR_MAP_SWIZZLE_NONE;
    CUtensorMapL2promotion l2_promotion = CU_TENSOR_MAP_L2_PROMOTION_L2_128B;
    CUtensorMapFloatOOBfill oob_fill = CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE;
};

// Pure: computes and validates the arguments (no driver call; CPU tests check it). Throws
// Error(launch, bad_input) naming the operand, the variant and the rule: base address non-null
// and 16-byte aligned, strides multiples of 16 bytes and below 2^40, dims 1..2^32, and the
// box rules of tensor_map_box_problem.
TensorMapArguments tensor_map_arguments(const AttentionProblem& problem, const FcAttentionParams& params,
                                        const TensorMapSpec& spec, const std::string& variant = {});

// cuTensorMapEncodeTiled through the driver loaded at run time. Throws like Device::check.
CUtensorMap encode_tensor_map(const TensorMapArguments& arguments, const Device& device, const std::string& what,
                              const std::string& variant);

// The argument list of one plan's launches: the parameter struct and the encoded tensor maps,
// cached so a warm launch compares four pointers (and their strides) and re-encodes nothing.
// Thread-safe through mutex(): hold it across bind() and the launch that uses the result.
class KernelArguments {
public:
    KernelArguments(std::vector<KernelArg> layout, std::string variant);
    KernelArguments(const KernelArguments&) = delete;
    KernelArguments& operator=(const KernelArguments&) = delete;

    const std::vector<KernelArg>& layout() const { return layout_; }
    std::mutex& mutex() const { return mutex_; }

    // Pointers to each kernel parameter in order, valid until the next bind(): `params` itself
    // (which must outlive the launch) and each tensor map, re-encoded only when its operand's
    // pointer or strides differ from the previous bind.
    void** bind(const FcAttentionParams& params, const AttentionProblem& problem, const Device& device);

private:
    struct Map {
        TensorMapSpec spec;
        CUtensorMap encoded{};
        bool valid = false;
        const void* base = nullptr;
        long long strides[3] = {};
    };
    std::vector<KernelArg> layout_;
    std::string variant_;
    std::vector<Map> maps_;     // one per tensor_map argument, in order
    std::vector<void*> args_;   // one per argument
    mutable std::mutex mutex_;
};

}  // namespace flashcore
