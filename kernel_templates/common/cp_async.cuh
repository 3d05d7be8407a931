// Asynchronous global->shared copies (sm_80 cp.async), 16 bytes per call, bypassing L1
// (.cg), with zero fill for rows outside the tensor so tiles never read out of bounds.
// Completion is tracked per thread in commit groups: a thread waits for its own groups, and
// a __syncthreads() after the wait makes every thread's landed data visible to the CTA.
#pragma once

namespace fc {
namespace cp_async {

// Copy 16 bytes from `gmem` to shared address `smem` (both 16-byte aligned). With
// `valid == false` nothing is read and the 16 shared bytes are zero-filled; `gmem` must still
// be a mapped address (callers pass the tensor's base).
__device__ __forceinline__ void copy16_zfill(unsigned smem, const void* gmem, bool valid) {
    const int src_bytes = valid ? 16 : 0;
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem),
                 "l"(__cvta_generic_to_global(gmem)), "r"(src_bytes)
                 : "memory");
}

// Close the current group of copies (an empty group is legal and keeps counting uniform).
__device__ __forceinline__ void commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }

// Wait until at most `kPending` of this thread's most recent groups are still in flight.
template <int kPending>
__device__ __forceinline__ void wait() {
    asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending) : "memory");
}

}  // namespace cp_async
}  // namespace fc
