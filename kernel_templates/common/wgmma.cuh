// Warpgroup MMA bookkeeping (sm_90a): shared-memory matrix descriptors, the fence / commit /
// wait discipline of wgmma.mma_async, and operand fences that keep the compiler from moving
// register accesses across an asynchronous MMA. The MMA instructions themselves are in
// common/wgmma_instructions.cuh.
//
// Ordering rules (PTX ISA, "Asynchronous Warpgroup Level Matrix Multiply-Accumulate"):
// fence() before the first wgmma of a batch and whenever its accumulator or A registers were
// written by other instructions; commit() closes the batch into a group; wait<N>() returns once
// at most N groups are pending, and only then may D be read or A be overwritten.
#pragma once

namespace fc {
namespace wgmma {

__device__ __forceinline__ void fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
template <int kPending>
__device__ __forceinline__ void wait() {
    asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(kPending) : "memory");
}

// Pins each register of `r` at this point of the program (no instruction is generated).
template <int kRegs>
__device__ __forceinline__ void fence_operands(float (&r)[kRegs]) {
#pragma unroll
    for (int i = 0; i < kRegs; ++i) asm volatile("" : "+f"(r[i])::"memory");
}
template <int kRegs>
__device__ __forceinline__ void fence_operands(unsigned long long (&r)[kRegs]) {
#pragma unroll
    for (int i = 0; i < kRegs; ++i) asm volatile("" : "+l"(r[i])::"memory");
}
template <int kRegs>
__device__ __forceinline__ void fence_operands(unsigned (&r)[kRegs]) {
#pragma unroll
    for (int i = 0; i < kRegs; ++i) asm volatile("" : "+r"(r[i])::"memory");
}

// Descriptor of a 128-byte-swizzled shared-memory operand (PTX ISA "Matrix Descriptor Format"):
// start address, leading and stride byte offsets (all >> 4) and layout type 1 (128B swizzle) in
// bits 62-63. Base offset 0: every tile starts on a 1024-byte boundary.
//   K-major (Q, K: rows of 64 16-bit elements = 128 B): stride = 1024 B between 8-row groups;
//   the leading offset is unused (encoded 1). One k16 step inside a 64-column block adds 32 B
//   to the start address; the next block starts rows * 128 B further.
//   MN-major (V read with transpose: N = d contiguous): leading = bytes between 64-column
//   blocks (rows * 128 B), stride = 1024 B between 8-row groups of K; a k16 step adds 16 rows
//   (2048 B).
__device__ __forceinline__ unsigned long long desc_sw128(unsigned smem_addr, unsigned leading_bytes,
                                                         unsigned stride_bytes) {
    return static_cast<unsigned long long>((smem_addr & 0x3FFFF) >> 4) |
           static_cast<unsigned long long>((leading_bytes & 0x3FFFF) >> 4) << 16 |
           static_cast<unsigned long long>((stride_bytes & 0x3FFFF) >> 4) << 32 | 1ull << 62;
}

}  // namespace wgmma
}  // namespace fc
