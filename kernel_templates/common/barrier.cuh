// Named hardware barriers (bar.sync with an id and a thread count): synchronize a subset of
// a CTA's warps without stalling the others. Id 0 is the one __syncthreads() uses; a kernel
// that splits its warps into groups gives each group its own id (1..15), and every warp of
// the group must execute the same sequence of group barriers. bar.sync orders shared-memory
// accesses among the participating threads as __syncthreads() does for the whole CTA.
#pragma once

namespace fc {
namespace barrier {

// Wait until `threads` threads (a multiple of 32, whole warps) have arrived at barrier `id`.
__device__ __forceinline__ void named_sync(int id, int threads) {
    asm volatile("bar.sync %0, %1;\n" ::"r"(id), "r"(threads) : "memory");
}

}  // namespace barrier
}  // namespace fc
