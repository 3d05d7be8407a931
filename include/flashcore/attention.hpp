// The attention problem every template solves, and how it maps onto FcAttentionParams.
// Plain values; no device facts (those are DeviceInfo's) and no driver calls.
#pragma once

#include <cuda.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

// A build-time copy of kernel_templates/common/attention_params.h: one definition for host
// and device code.
#include "flashcore/attention_params.h"

namespace flashcore {

enum class DType { f16, bf16, f32 };
const char* to_string(DType dtype);
DType parse_dtype(const std::string& text);  // f16|fp16|half, bf16, f32|fp32; throws bad_input
const char* torch_dtype_name(DType dtype);    // "float16", "bfloat16", "float32"
std::size_t dtype_bytes(DType dtype);

struct AttentionProblem {
    int B = 1, Hq = 1, Hkv = 1, Sq = 1, Skv = 1, D = 64;
    bool causal = false;
    DType dtype = DType::f16;
    float scale = 0.f;  // 0 means 1/sqrt(D)
    bool with_lse = false;

    float effective_scale() const;
    std::size_t q_elements() const { return std::size_t(B) * Hq * Sq * D; }
    std::size_t kv_elements() const { return std::size_t(B) * Hkv * Skv * D; }
    std::size_t lse_elements() const { return std::size_t(B) * Hq * Sq; }
    // Useful FLOPs (4·B·Hq·Sq·Skv·D, halved for causal) — the bench convention.
    double flops() const;
    // "B=1,Hq=8,Hkv=8,Sq=512,Skv=512,D=64,causal=0,dtype=f16"
    std::string to_string() const;
    // "" when the problem is well formed, else why not (sizes < 1, Hq % Hkv != 0, D > 256...).
    std::string invalid_reason() const;
    // Throws Error(bad_problem) with invalid_reason().
    void validate() const;
    // Parses "B,Hq,Hkv,Sq,Skv,D", "B,H,S,D" (Hq=Hkv, Sq=Skv) or named fields in any order,
    // "B=1,Hq=32,Hkv=8,Sq=512,Skv=512,D=128" (H= and S= stand for both of a pair). Throws
    // Error(bad_input) naming the field: empty pieces, non-integers, values outside 1..2^31-1.
    static AttentionProblem from_shape(const std::string& shape);

    // Field by field; a scale of -0 equals 0 (both mean 1/sqrt(D)).
    bool operator==(const AttentionProblem& other) const;
};

// Device pointers of one attention call; packed [B, H, S, D] layouts. Strided operands (BSHD,
// slices of a packed QKV tensor): AttentionTensors (tensor_views.hpp).
struct AttentionBuffers {
    CUdeviceptr q = 0, k = 0, v = 0, o = 0;
    CUdeviceptr lse = 0;    // optional, [B, Hq, Sq] fp32
    CUdeviceptr debug = 0;  // optional, stage dumps
};

FcAttentionParams make_attention_params(const AttentionProblem& problem, const AttentionBuffers& buffers,
                                        CUdeviceptr workspace);

}  // namespace flashcore

// Problems are map keys (the runtime's plan cache): hashes agree with operator==.
template <>
struct std::hash<flashcore::AttentionProblem> {
    std::size_t operator()(const flashcore::AttentionProblem& problem) const noexcept;
};
