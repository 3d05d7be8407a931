// Small pieces of the register-resident online softmax over mma.sync accumulator fragments:
// the four lanes of a quad (lane / 4 equal) share one accumulator row, so row reductions are
// two xor-shuffles; exponentials are base 2 with the log2(e) factor folded into the scale.
#pragma once

namespace fc {
namespace softmax {

// 2^x with the hardware approximation (MUFU.EX2, ~2 ulp); ex2(-inf) = +0, which masking relies on.
__device__ __forceinline__ float fast_exp2(float x) {
    float y;
    asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
    return y;
}

__device__ __forceinline__ float quad_max(float x) {
    x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 1));
    return fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 2));
}

__device__ __forceinline__ float quad_sum(float x) {
    x += __shfl_xor_sync(0xffffffffu, x, 1);
    return x + __shfl_xor_sync(0xffffffffu, x, 2);
}

}  // namespace softmax
}  // namespace fc
