// Pieces of a warp-specialised kernel (sm_90a): register reallocation between the producer
// and consumer warpgroups, and named barriers that synchronise subsets of warps (bar.sync
// waits for `threads` arrivals at barrier `id`; bar.arrive counts in without waiting).
#pragma once

namespace fc {
namespace warp_specialization {

// setmaxnreg takes effect only when the kernel has a register cap at entry
// (__launch_bounds__(threads, 1)); ptxas warns (C7508) when it ignores it, and the family's
// schema promotes that warning to an error. Every warp of the warpgroup executes the same one.
template <int kRegs>
__device__ __forceinline__ void release_registers() {
    asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(kRegs));
}
template <int kRegs>
__device__ __forceinline__ void claim_registers() {
    asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(kRegs));
}

__device__ __forceinline__ void named_sync(int id, int threads) {
    asm volatile("bar.sync %0, %1;\n" ::"r"(id), "r"(threads) : "memory");
}
__device__ __forceinline__ void named_arrive(int id, int threads) {
    asm volatile("bar.arrive %0, %1;\n" ::"r"(id), "r"(threads) : "memory");
}

}  // namespace warp_specialization
}  // namespace fc
