// The tensor-memory accelerator (sm_90): bulk tensor copies between global and shared memory
// described by a tensor map the host encodes (cuTensorMapEncodeTiled) and passes by value as a
// `const __grid_constant__` kernel parameter. Loads complete on an mbarrier (transaction
// bytes); stores are tracked as bulk groups. Coordinates are element indices, innermost
// dimension first; boxes that reach past the tensor read zeros and write nothing there.
#pragma once

// The device-side view of CUtensorMap (<cuda.h> is a host header NVRTC cannot include): 128
// opaque bytes, 64-byte aligned.
struct alignas(64) FcTensorMap {
    unsigned long long opaque[16];
};

namespace fc {
namespace tma {

// Starts loading the box at (c0, c1, c2, c3) of `map` into shared memory at `dst`; its bytes
// count towards the transaction count of the mbarrier at `mbar`.
__device__ __forceinline__ void load_4d(unsigned dst, const FcTensorMap* map, int c0, int c1, int c2, int c3,
                                        unsigned mbar) {
    asm volatile(
        "cp.async.bulk.tensor.4d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3, %4, %5}], "
        "[%6];\n" ::"r"(dst),
        "l"(reinterpret_cast<unsigned long long>(map)), "r"(c0), "r"(c1), "r"(c2), "r"(c3), "r"(mbar)
        : "memory");
}

// Starts storing shared memory at `src` into the box at (c0, c1, c2, c3). The writing threads
// must have executed proxy_fence() and synchronised with the issuing thread first.
__device__ __forceinline__ void store_4d(const FcTensorMap* map, unsigned src, int c0, int c1, int c2, int c3) {
    asm volatile("cp.async.bulk.tensor.4d.global.shared::cta.bulk_group [%0, {%2, %3, %4, %5}], [%1];\n" ::"l"(
                     reinterpret_cast<unsigned long long>(map)),
                 "r"(src), "r"(c0), "r"(c1), "r"(c2), "r"(c3)
                 : "memory");
}

__device__ __forceinline__ void store_commit() { asm volatile("cp.async.bulk.commit_group;\n" ::: "memory"); }

// Waits until at most kPending committed store groups still read their shared memory.
template <int kPending>
__device__ __forceinline__ void store_wait_read() {
    asm volatile("cp.async.bulk.wait_group.read %0;\n" ::"n"(kPending) : "memory");
}

// Makes this thread's ordinary shared-memory writes visible to the async proxy (TMA stores,
// wgmma operand reads).
__device__ __forceinline__ void proxy_fence() { asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory"); }

__device__ __forceinline__ void prefetch_map(const FcTensorMap* map) {
    asm volatile("prefetch.tensormap [%0];\n" ::"l"(reinterpret_cast<unsigned long long>(map)) : "memory");
}

}  // namespace tma
}  // namespace fc
