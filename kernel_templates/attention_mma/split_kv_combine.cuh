// attention_mma, splits > 1: the CTAs of one query tile each take a share of its K/V tiles
// and meet in the workspace. Every CTA publishes its partial softmax state; the last to
// arrive (common/split_kv.cuh) merges all of them (common/softmax_merge.cuh) in split order.
//
// Workspace: [ counters: int[B * Hq * n_qtiles], rounded up to 256 B ] (zeroed once by the
// host, left zero by the last CTA) [ partials: B * Hq * n_qtiles * splits blocks of
// partial_bytes ], a block laid out per (row warp, m-tile) as in common/softmax_merge.cuh.
#pragma once
#include "common/attention_params.h"
#include "common/softmax_merge.cuh"
#include "common/split_kv.cuh"
#include "attention_mma/config.cuh"
#include "attention_mma/scheduler.cuh"

namespace fc {
namespace attention_mma {

// The partials of one query tile in the workspace, from one lane's view; ld.global.cg: the
// other CTAs' partials are in L2 (L1 is not coherent across SMs).
struct WorkspacePartials {
    const float4* parts;  // this lane's word of partial 0
    struct Block {
        const float4* base;
        __device__ __forceinline__ float4 operator[](int i) const { return __ldcg(base + i); }
    };
    __device__ __forceinline__ float4 load(int s, int i) const { return __ldcg(parts + s * kPartialFloat4 + i); }
    __device__ __forceinline__ Block block(int s, int i0) const { return {parts + s * kPartialFloat4 + i0}; }
};

// Publishes this CTA's partial (unnormalized O, row max in the log2 domain, row sum); the
// last CTA of the tile to arrive folds all partials into o_acc / m_log2 / row_sum and
// returns true, the others return false. With kv_warps > 1 only the leader warps (kv group
// 0, which hold the CTA's combined state) publish and combine; every thread takes part in
// the arrival barriers.
__device__ __forceinline__ bool combine_splits(const FcAttentionParams& p, const CtaCoord& cta, const LaneCoord& me,
                                               bool leader, OAcc& o_acc, RowStat& m_log2, RowStat& row_sum) {
    const long long tile_id = (static_cast<long long>(cta.b) * grid_heads(p) + cta.h) * cta.n_qtiles + cta.qtile;
    const long long counters_bytes = ((static_cast<long long>(p.B) * grid_heads(p) * cta.n_qtiles * 4 + 255) / 256) * 256;
    float4* tile_part = reinterpret_cast<float4*>(static_cast<unsigned char*>(p.workspace) + counters_bytes) +
                        tile_id * kSplits * kPartialFloat4;
    // This lane's word of the (row warp, m-tile 0, d-tile 0) entry of a partial.
    const int warp_part = me.rw * kMTiles * (kDTiles + 1) * 32 + me.lane;
    if (kKvWarps == 1 || leader) {
        float4* mine = tile_part + cta.split * kPartialFloat4 + warp_part;
        softmax_merge::store_partial([&](int i, float4 v) { mine[i] = v; }, o_acc, m_log2, row_sum);
    }
    int* counter = static_cast<int*>(p.workspace) + tile_id;
    if (!split_kv::arrive_is_last(counter, kSplits)) return false;
    if (kKvWarps > 1 && !leader) return false;

    // The own partial is read back too (this thread wrote exactly those words), which frees
    // o_acc / row_sum to hold the merge.
    const WorkspacePartials parts{tile_part + warp_part};
    softmax_merge::clear_state(o_acc, m_log2, row_sum);
    softmax_merge::max_of_partials<0, kSplits, kDTiles>(parts, m_log2);
    softmax_merge::fold_partials<0, kSplits>(parts, o_acc, m_log2, row_sum);
    return true;
}

}  // namespace attention_mma
}  // namespace fc
