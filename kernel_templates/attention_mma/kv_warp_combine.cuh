// attention_mma, kv_warps > 1: the kv groups of a CTA swept interleaved K/V tiles of the
// same query rows and merge their partial softmax states in shared memory (no global round
// trip): every group but 0 writes its warps' partials (common/softmax_merge.cuh layout) into
// its own ring slot, which nobody needs once the group is done with its ring; each warp of
// group 0 then folds its own state and groups 1, 2, ... in that order.
#pragma once
#include "common/shared_memory.cuh"
#include "common/softmax_merge.cuh"
#include "attention_mma/config.cuh"
#include "attention_mma/scheduler.cuh"

namespace fc {
namespace attention_mma {

// The partials of kv groups 1.. in their ring slots, from one lane's view. Addresses are
// spelled from the dynamic shared memory base (smem + kQBytes + slot + word): from a
// precomputed slot pointer the compiler split the constant offsets differently (other SASS).
struct SlotPartials {
    const unsigned char* smem;
    int part;  // float4 index of this lane's word within a slot
    struct Block {
        const unsigned char* base;
        __device__ __forceinline__ float4 operator[](int i) const { return smem::load_f32x4(base + i * 16); }
    };
    __device__ __forceinline__ float4 load(int k, int i) const {
        return smem::load_f32x4(smem + kQBytes + k * kSlotBytes + (part + i) * 16);
    }
    __device__ __forceinline__ Block block(int k, int i0) const {
        return {smem + kQBytes + k * kSlotBytes + (part + i0) * 16};
    }
};

// A group that saw no key of a row (causal, short Skv, fewer tiles than groups) carries
// m = -inf, l = 0, O = 0. Returns true in the warps of group 0, which now hold the CTA's state.
__device__ __forceinline__ bool combine_kv_warps(unsigned char* smem, const LaneCoord& me, OAcc& o_acc, RowStat& m_log2,
                                                 RowStat& row_sum) {
    // Float4 index of this lane's (row warp, m-tile 0, d-tile 0) entry within a slot.
    const int part = me.rw * kMTiles * (kDTiles + 1) * 32 + me.lane;
    unsigned char* const slots = smem + kQBytes;
    // Every group is done with its ring. A CTA barrier rather than each group's own: group 0
    // waits at the next one anyway, and compute-sanitizer's racecheck flagged the partial
    // stores after a named group barrier (bar.sync 1+kw, n) as racing with group 0's reads
    // behind the CTA barrier below (H100, CUDA 13.0; row_warps > 1 only).
    __syncthreads();
    if (me.kw != 0) {
        unsigned char* mine = slots + me.kw * kSlotBytes + part * 16;
        softmax_merge::store_partial([&](int i, float4 v) { smem::store_f32x4(mine + i * 16, v); }, o_acc, m_log2,
                                     row_sum);
    }
    __syncthreads();
    if (me.kw != 0) return false;

    // Own state first, then groups 1, 2, ...
    const SlotPartials parts{smem, part};
    float m_all[kMTiles][2];
#pragma unroll
    for (int mt = 0; mt < kMTiles; ++mt) {
        m_all[mt][0] = m_log2[mt][0];
        m_all[mt][1] = m_log2[mt][1];
    }
    softmax_merge::max_of_partials<1, kKvWarps, kDTiles>(parts, m_all);
    softmax_merge::rescale_to(m_all, o_acc, m_log2, row_sum);
    softmax_merge::fold_partials<1, kKvWarps>(parts, o_acc, m_log2, row_sum);
    return true;
}

}  // namespace attention_mma
}  // namespace fc
