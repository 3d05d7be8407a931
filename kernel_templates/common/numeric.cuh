// Element conversions and float constants for NVRTC device code (no host headers exist there).
#pragma once
#include <cuda_fp16.h>
#include <cuda_bf16.h>

namespace fc {

__device__ __forceinline__ float neg_inf() { return __int_as_float(0xff800000); }
__device__ __forceinline__ float quiet_nan() { return __int_as_float(0x7fffffff); }

constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.6931471805599453f;

__device__ __forceinline__ float to_float(float x) { return x; }
__device__ __forceinline__ float to_float(__half x) { return __half2float(x); }
__device__ __forceinline__ float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }

// The 16 bits of a half or bfloat16 value, and back to float (exact).
__device__ __forceinline__ unsigned short elem_bits(__half x) { return __half_as_ushort(x); }
__device__ __forceinline__ unsigned short elem_bits(__nv_bfloat16 x) { return __bfloat16_as_ushort(x); }
template <class T> __device__ __forceinline__ float bits_to_float(unsigned short b);
template <> __device__ __forceinline__ float bits_to_float<__half>(unsigned short b) {
    return __half2float(__ushort_as_half(b));
}
template <> __device__ __forceinline__ float bits_to_float<__nv_bfloat16>(unsigned short b) {
    return __uint_as_float(static_cast<unsigned>(b) << 16);  // bf16 -> f32 is exact
}

template <class T> __device__ __forceinline__ T from_float(float x);
template <> __device__ __forceinline__ float from_float<float>(float x) { return x; }
template <> __device__ __forceinline__ __half from_float<__half>(float x) { return __float2half_rn(x); }
template <> __device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float x) {
    return __float2bfloat16_rn(x);
}

}  // namespace fc
