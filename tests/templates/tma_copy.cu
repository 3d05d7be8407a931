// Test-only template: o = q, one [block_m x D] tile per CTA, moved by the Tensor Memory
// Accelerator. It takes the launch contract's extra kernel arguments — FcAttentionParams, then
// the tensor maps of q and o by value — and checks that it runs in clusters of FC_CLUSTER CTAs
// (a wrong cluster launch traps). Rows past Sq read as zeros and are not stored (TMA clips), so
// shapes that are no tile multiple copy exactly. Inline PTX only: NVRTC has no <cuda.h>.
#include "common/attention_params.h"

namespace tma_test {

// The host's CUtensorMap: 128 opaque bytes, 64-byte aligned.
struct alignas(64) FcTensorMap {
    unsigned long long v[16];
};

__device__ __forceinline__ unsigned shared_address(const void* p) {
    return static_cast<unsigned>(__cvta_generic_to_shared(p));
}

__device__ __forceinline__ bool barrier_phase_done(unsigned barrier, unsigned parity) {
    unsigned done;
    asm volatile(
        "{ .reg .pred p; mbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2; selp.u32 %0, 1, 0, p; }"
        : "=r"(done)
        : "r"(barrier), "r"(parity)
        : "memory");
    return done != 0;
}

__global__ void __launch_bounds__(32) tma_copy(const FcAttentionParams p, const __grid_constant__ FcTensorMap q_map,
                                               const __grid_constant__ FcTensorMap o_map) {
    static_assert(FC_TILE_BYTES == FC_BLOCK_M * FC_HEAD_DIM * FC_ELEM_BYTES, "tile_bytes is one [block_m x D] tile");
    __shared__ alignas(128) unsigned char tile[FC_TILE_BYTES];
    __shared__ alignas(8) unsigned long long barrier;
    (void)p;  // the parameter struct comes first in the contract; this kernel needs only the maps

    unsigned cluster_ctas;
    asm volatile("mov.u32 %0, %%cluster_nctarank;" : "=r"(cluster_ctas));
    if (cluster_ctas != FC_CLUSTER) __trap();

    // Coordinates innermost first: (d, row, head, batch).
    const int row = blockIdx.x * FC_BLOCK_M, head = blockIdx.y, batch = blockIdx.z;
    const unsigned bar = shared_address(&barrier), dst = shared_address(tile);
    if (threadIdx.x == 0) {
        asm volatile("mbarrier.init.shared::cta.b64 [%0], 1;" ::"r"(bar) : "memory");
        asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
        asm volatile("fence.proxy.async.shared::cta;" ::: "memory");
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(bar), "r"(FC_TILE_BYTES) : "memory");
        asm volatile(
            "cp.async.bulk.tensor.4d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3, %4, %5}], "
            "[%6];" ::"r"(dst),
            "l"(reinterpret_cast<unsigned long long>(&q_map)), "r"(0), "r"(row), "r"(head), "r"(batch), "r"(bar)
            : "memory");
    }
    while (!barrier_phase_done(bar, 0)) {
    }
    if (threadIdx.x == 0) {
        asm volatile("fence.proxy.async.shared::cta;" ::: "memory");
        asm volatile("cp.async.bulk.tensor.4d.global.shared::cta.bulk_group [%0, {%1, %2, %3, %4}], [%5];" ::"l"(
                         reinterpret_cast<unsigned long long>(&o_map)),
                     "r"(0), "r"(row), "r"(head), "r"(batch), "r"(dst)
                     : "memory");
        asm volatile("cp.async.bulk.commit_group;" ::: "memory");
        asm volatile("cp.async.bulk.wait_group.read 0;" ::: "memory");
    }
}

}  // namespace tma_test
