// Online (streaming) softmax helpers: warp reductions and the running-max arithmetic of
// FlashAttention-style kernels, in the log2 domain (scores pre-multiplied by scale * log2(e),
// probabilities from exp2f).
//
// Per query row the kernel keeps m (running max of the scaled log2 scores seen so far, -inf
// before any visible key) and l (running sum of exp2(score - m)). For a new tile with max
// tile_max:   m' = max(m, tile_max),  p_j = exp2(s_j - base(m')),  alpha = exp2(m - base(m')),
//             l' = l * alpha + sum_j p_j,  O' = O * alpha + P V.
// base(m) is m, or 0 while the row has seen only masked (-inf) scores, so that no -inf - -inf
// NaN appears: masked scores give p = 0 and a row with no visible key keeps l = 0.
#pragma once
#include "common/numeric.cuh"

namespace fc {

__device__ __forceinline__ float warp_reduce_max(float x) {
#pragma unroll
    for (int offset = 16; offset > 0; offset /= 2) x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, offset));
    return x;
}

__device__ __forceinline__ float warp_reduce_sum(float x) {
#pragma unroll
    for (int offset = 16; offset > 0; offset /= 2) x += __shfl_xor_sync(0xffffffffu, x, offset);
    return x;
}

// The value subtracted from scores before exp2: the running max, or 0 while it is -inf.
__device__ __forceinline__ float softmax_base(float running_max) {
    return running_max == neg_inf() ? 0.f : running_max;
}

// log-sum-exp (natural log) of a row from its log2-domain running max and sum; -inf for a row
// that saw no key (l == 0).
__device__ __forceinline__ float softmax_lse(float running_max, float running_sum) {
    return running_sum > 0.f ? (softmax_base(running_max) + log2f(running_sum)) * kLn2 : neg_inf();
}

}  // namespace fc
