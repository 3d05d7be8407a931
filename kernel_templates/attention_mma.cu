// FlashAttention-2-class forward on mma.sync (sm_80+).
//
// One CTA computes a block_m x head_dim tile of O for one (batch, query head), or with
// splits > 1 one contiguous share of that tile's K/V tiles. Each warp owns 16 or 32 query
// rows (one or two m16 MMA tiles) across its K/V sweep, so softmax statistics never
// leave registers: S = Q.K^T accumulates in mma C fragments, is masked, exponentiated and
// rounded in place, and the C fragments of S become the A fragments of P.V without touching
// shared memory. K and V stream through a `stages`-deep ring of XOR-swizzled shared tiles
// filled by 16-byte cp.async (zero-filled past Skv); ldmatrix reads them conflict-free.
// With kv_warps > 1 the warps form row_warps x kv_warps: the kv_warps groups that share the
// same query rows take interleaved K/V tiles of the CTA, each group with its own ring and its
// own group barrier (no CTA barrier in the K/V loop), and combine their partial softmax
// states through shared memory at the end.
//
// Layers (attention_mma/): config (constants), scheduler (CTA, warp and lane coordinates,
// K/V tile ranges), tile_loader, tile_math (steps on one tile), main_loop (the K/V sweep,
// which owns the accumulators and hands them to the epilogue), kv_warp_combine and
// split_kv_combine (merges of partial states), epilogue (output).
// docs/attention_mma.md describes layouts, pipeline, the kv-warp and the split-KV combines.
#include "common/attention_params.h"
#include "common/special_registers.cuh"
#include "attention_mma/config.cuh"
#include "attention_mma/scheduler.cuh"
#include "attention_mma/main_loop.cuh"
#include "attention_mma/kv_warp_combine.cuh"
#include "attention_mma/split_kv_combine.cuh"
#include "attention_mma/epilogue.cuh"

namespace fc {
namespace attention_mma {

__global__ void __launch_bounds__(kThreads, FC_OCCUPANCY) attention_mma_fwd(const FcAttentionParams p) {
#if FC_PDL && defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    // Programmatic dependent launch: this grid may be running before the previous kernel of the
    // stream has finished. Wait for it (and its writes) before the first global access; after
    // that, let the next kernel's CTAs be scheduled once ours have all started. Both are no-ops
    // for an ordinary launch.
    asm volatile("griddepcontrol.wait;" ::: "memory");
    asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
    extern __shared__ __align__(1024) unsigned char smem[];
    const unsigned smem_base = static_cast<unsigned>(__cvta_generic_to_shared(smem));

    const int tid = threadIdx.x;
    const LaneCoord me = lane_coord(tid);
    const CtaCoord cta = cta_coord(p, blockIdx.x, blockIdx.y, blockIdx.z);
    main_loop(p, smem_base, tid, me, cta, [&](OAcc& o_acc, RowStat& m_log2, RowStat& row_sum) {
        // The epilogue re-derives its coordinates from fresh special-register reads, so nothing
        // computed before the loop has to stay live across it.
        const CtaCoord ecta = cta_coord(p, sreg::ctaid_x(), sreg::ctaid_y(), sreg::ctaid_z());
        const LaneCoord eme = lane_coord(sreg::tid_x());
#if FC_KV_WARPS > 1
        const bool leader = combine_kv_warps(smem, eme, o_acc, m_log2, row_sum);
#else
        constexpr bool leader = true;
#endif
#if FC_SPLITS > 1
        if (!combine_splits(p, ecta, eme, leader, o_acc, m_log2, row_sum)) return;
#endif
        if (leader) store_output(p, ecta, eme, smem, o_acc, m_log2, row_sum);
    });
}

}  // namespace attention_mma
}  // namespace fc
