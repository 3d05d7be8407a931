// Attention operands as strided views: a device pointer, the logical shape [B, H, S, D] and an
// element stride per dimension, so BSHD, BHSD and slices of a packed QKV tensor run without a
// copy (the kernels read the strides from FcAttentionParams). Plain values; no driver calls.
//
// What every family accepts (find_tensor_issue; can_implement asks it, every launch checks it):
// non-null pointers, the problem's dtype and shapes, a unit-stride head dimension, positive
// strides, and base addresses and strides aligned like a packed tensor of the same D: to
// gcd(16, D * element bytes) bytes — 16 bytes whenever a row is a whole number of 16-byte
// loads, which is what the vectorised families read. Families with TMA tensor maps add their
// own rules (tensor_map_arguments), which can_implement applies with the real views.
#pragma once

#include <cuda.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "flashcore/attention.hpp"

namespace flashcore {

struct TensorView {
    CUdeviceptr data = 0;
    DType dtype = DType::f16;
    std::int64_t shape[4] = {1, 1, 1, 1};   // B, H, S, D (logical order, whatever the memory order)
    std::int64_t stride[4] = {0, 0, 0, 1};  // elements per step of each dimension, same order

    // A packed [B, H, S, D] tensor.
    static TensorView contiguous(CUdeviceptr data, DType dtype, std::int64_t B, std::int64_t H, std::int64_t S,
                                 std::int64_t D);
};

// The operands of one attention call. q, o: [B, Hq, Sq, D]; k, v: [B, Hkv, Skv, D].
struct AttentionTensors {
    TensorView q, k, v, o;
    CUdeviceptr lse = 0;    // optional, packed [B, Hq, Sq] fp32
    CUdeviceptr debug = 0;  // optional, stage dumps

    // The packed [B, H, S, D] layout of AttentionBuffers.
    static AttentionTensors contiguous(const AttentionProblem& problem, const AttentionBuffers& buffers);
};

// The pointer-free facts about the operands that decide whether a variant takes them: strides
// (dimensions of size 1 normalised, their stride is never used) and how far each base address
// is aligned (bytes, a power of two capped at 16; 0 for a null pointer). Keys launch plans: two
// calls with equal layouts get the same answer from can_implement.
struct OperandLayout {
    std::int64_t stride[4] = {};
    std::uint8_t base_alignment = 0;
    bool operator==(const OperandLayout& other) const = default;
};
struct AttentionLayout {
    OperandLayout q, k, v, o;
    bool operator==(const AttentionLayout& other) const = default;
};
AttentionLayout layout_of(const AttentionTensors& tensors);
std::size_t hash_value(const AttentionLayout& layout) noexcept;

// The problem a set of views describes: B, Hq, Sq, D from q, Hkv, Skv from k; dtype from q.
// The other operands are checked against it by find_tensor_issue.
AttentionProblem problem_from_views(const AttentionTensors& tensors, bool causal, float scale, bool with_lse);

// Why the views cannot be used for the problem, if they cannot. `type` for a dtype that differs
// from the problem's, `value` for everything else; the message names the operand and the rule.
struct TensorIssue {
    enum class Kind { none, type, value };
    Kind kind = Kind::none;
    std::string message;
    explicit operator bool() const { return kind != Kind::none; }
};
TensorIssue find_tensor_issue(const AttentionProblem& problem, const AttentionTensors& tensors);
// Throws Error(validate, bad_input) with find_tensor_issue's message.
void check_tensors(const AttentionProblem& problem, const AttentionTensors& tensors, const std::string& variant = {});

// The kernel argument for these views; dimensions of size 1 get normalised strides (as in
// layout_of), so a TMA map never sees a stride that no index uses.
FcAttentionParams make_attention_params(const AttentionProblem& problem, const AttentionTensors& tensors,
                                        CUdeviceptr workspace);

}  // namespace flashcore
