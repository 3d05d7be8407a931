// Plain (non-async) shared-memory accesses of the mma templates, spelled as functions so a
// checker can interpose on them (the CPU emulator tracks which thread wrote and read every
// word). On the GPU they are ordinary loads and stores: STS / LDS of the given width.
#pragma once

namespace fc {
namespace smem {

__device__ __forceinline__ void store_u32(unsigned char* p, unsigned v) { *reinterpret_cast<unsigned*>(p) = v; }
__device__ __forceinline__ uint4 load_u128(const unsigned char* p) { return *reinterpret_cast<const uint4*>(p); }
__device__ __forceinline__ void store_f32x4(unsigned char* p, float4 v) { *reinterpret_cast<float4*>(p) = v; }
__device__ __forceinline__ float4 load_f32x4(const unsigned char* p) { return *reinterpret_cast<const float4*>(p); }

}  // namespace smem
}  // namespace fc
