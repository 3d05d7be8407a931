// Online (streaming) softmax pieces shared by the attention templates, in the log2 domain
// (scores pre-multiplied by scale * log2(e), probabilities from exp2).
//
// Per query row a kernel keeps m (running max of the scores seen so far, -inf before any
// visible key) and l (running sum of exp2(score - m)). For a new tile with max tile_max:
//   m' = max(m, tile_max),  p_j = exp2(s_j - base(m')),  alpha = exp2(m - base(m')),
//   l' = l * alpha + sum_j p_j,  O' = O * alpha + P V.
// base(m) is m, or 0 while the row has seen only masked (-inf) scores, so that no -inf - -inf
// NaN appears: masked scores give p = 0 and a row with no visible key keeps l = 0. The same
// rule gives the reference of a merge of partial states (common/softmax_merge.cuh).
//
// Row reductions: a whole warp shares a row in attention_wmma (warp_*), the four lanes of a
// quad (lane / 4 equal) share an mma accumulator row in attention_mma (quad_*).
#pragma once
#include "common/numeric.cuh"

namespace fc {
namespace softmax {

// 2^x with the hardware approximation (MUFU.EX2, ~2 ulp); ex2(-inf) = +0, which masking relies on.
__device__ __forceinline__ float fast_exp2(float x) {
    float y;
    asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
    return y;
}

__device__ __forceinline__ float warp_max(float x) {
#pragma unroll
    for (int offset = 16; offset > 0; offset /= 2) x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, offset));
    return x;
}

__device__ __forceinline__ float warp_sum(float x) {
#pragma unroll
    for (int offset = 16; offset > 0; offset /= 2) x += __shfl_xor_sync(0xffffffffu, x, offset);
    return x;
}

__device__ __forceinline__ float quad_max(float x) {
    x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 1));
    return fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 2));
}

__device__ __forceinline__ float quad_sum(float x) {
    x += __shfl_xor_sync(0xffffffffu, x, 1);
    return x + __shfl_xor_sync(0xffffffffu, x, 2);
}

// The value subtracted from log2-domain scores before exp2: the running max, or 0 while it is -inf.
__device__ __forceinline__ float base(float running_max) {
    return running_max == neg_inf() ? 0.f : running_max;
}

// Factor that normalizes a row's O by its sum: 1 / l, or 0 for a row that saw no key (O = 0).
__device__ __forceinline__ float normalizer(float running_sum) {
    return running_sum > 0.f ? 1.f / running_sum : 0.f;
}

// Natural-log logsumexp of a row from its log2-domain max and sum; -inf for a row that saw no
// key (l == 0). lse uses the accurate log2f; lse_approx the MUFU.LG2 approximation (__log2f)
// and takes m as it is (m is finite whenever l > 0).
__device__ __forceinline__ float lse(float running_max, float running_sum) {
    return running_sum > 0.f ? (base(running_max) + log2f(running_sum)) * kLn2 : neg_inf();
}
__device__ __forceinline__ float lse_approx(float running_max, float running_sum) {
    return running_sum > 0.f ? (running_max + __log2f(running_sum)) * kLn2 : neg_inf();
}

}  // namespace softmax
}  // namespace fc
