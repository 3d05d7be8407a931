// attention_mma: who works on what. A CTA's query tile, split, head and batch; the K/V tiles
// its kv groups sweep; which rows, columns and kv group a lane holds; the barrier of the
// threads that share one K/V ring.
#pragma once
#include "common/attention_params.h"
#include "common/attention_mask.cuh"
#include "common/barrier.cuh"
#include "attention_mma/config.cuh"

namespace fc {
namespace attention_mma {

// Rows of the problem a CTA's tiles cover, per grid head. Without PackGQA a row is a query
// position of query head h = blockIdx.y. With PackGQA blockIdx.y is a KV head and its
// G = Hq / Hkv query heads share the tiles: row r is query position r / G of query head
// hk * G + r % G, so the G heads of one position are adjacent (a causal tile still covers a
// contiguous range of positions) and K/V are read once for all of them.
__device__ __forceinline__ int group_size(const FcAttentionParams& p) { return p.Hq / p.Hkv; }
__device__ __forceinline__ int rows_per_head(const FcAttentionParams& p) {
    return kPackGqa ? p.Sq * group_size(p) : p.Sq;
}
__device__ __forceinline__ int grid_heads(const FcAttentionParams& p) { return kPackGqa ? p.Hkv : p.Hq; }
// Query position of tile row `row` (rows of the grid head, not of the tile).
__device__ __forceinline__ int query_pos(const FcAttentionParams& p, int row) {
    return kPackGqa ? row / group_size(p) : row;
}

// Where a CTA works: its query tile, its share of the K/V tiles, head and batch.
// blockIdx.x = qtile_index * splits + split; h is the query head (the KV head with PackGQA).
struct CtaCoord {
    int n_qtiles, qtile, split, h, b, q0;
};
__device__ __forceinline__ CtaCoord cta_coord(const FcAttentionParams& p, int ctaid_x, int ctaid_y, int ctaid_z) {
    CtaCoord c;
    c.n_qtiles = (rows_per_head(p) + kBlockM - 1) / kBlockM;
    c.split = ctaid_x % kSplits;
    c.qtile = ctaid_x / kSplits;
    if (kCausal) c.qtile = c.n_qtiles - 1 - c.qtile;  // most K/V tiles first: shorter tail
    c.h = ctaid_y;
    c.b = ctaid_z;
    c.q0 = c.qtile * kBlockM;
    return c;
}

// Which accumulator rows and columns a lane holds: rows warp_row0 + 16*mt + g (+8), columns
// 8*tile + 2*tq (+1). Warp = kw * row_warps + rw: row warp rw owns rows
// [rw * rows_per_warp, +rows_per_warp), kv group kw (warps kw*row_warps ..) its share of tiles.
struct LaneCoord {
    int warp, lane, g, tq, rw, kw, warp_row0;
};
__device__ __forceinline__ LaneCoord lane_coord(int tid) {
    LaneCoord c;
    c.warp = tid >> 5;
    c.lane = tid & 31;
    c.g = c.lane >> 2;
    c.tq = c.lane & 3;
    if constexpr (kKvWarps == 1) {
        c.rw = c.warp;
        c.kw = 0;
    } else {
        c.rw = c.warp % kRowWarps;
        c.kw = c.warp / kRowWarps;
    }
    c.warp_row0 = c.rw * kRowsPerWarp;
    return c;
}

// The K/V tiles of a warp's kv group. Keys any row of the CTA's tile can see are
// [0, visible_keys(last row)); tiles at or past mask_from hold a key that some row must not
// see (causal diagonal or the Skv tail). Split s takes the contiguous share
// [t_begin, t_end) of its own q tile's visible tiles; kv group kw takes tiles
// t_begin + kw, + kv_warps, ... of it (t_first is its first), all of them with kv_warps = 1.
struct KvRange {
    int mask_from, t_begin, t_end, t_first;
};
__device__ __forceinline__ KvRange kv_range(const FcAttentionParams& p, const CtaCoord& cta, const LaneCoord& me) {
    KvRange r;
    const int q_last = min(cta.q0 + kBlockM, rows_per_head(p)) - 1;
    const int kv_end = visible_keys(p, query_pos(p, q_last));
    const int n_tiles = (kv_end + kBlockN - 1) / kBlockN;
    r.mask_from = visible_keys(p, query_pos(p, cta.q0)) / kBlockN;
    const int per_split = (n_tiles + kSplits - 1) / kSplits;
    r.t_begin = min(cta.split * per_split, n_tiles);
    r.t_end = min(r.t_begin + per_split, n_tiles);
    r.t_first = r.t_begin + me.kw;
    return r;
}

// Barrier of the threads that share one K/V ring: the whole CTA (kv_warps = 1), the warp
// itself (one row warp per group) or the group's warps on named barrier 1 + kw.
__device__ __forceinline__ void group_sync(int kw) {
    if constexpr (kKvWarps == 1) {
        __syncthreads();
    } else if constexpr (kRowWarps == 1) {
        __syncwarp();
    } else {
        barrier::named_sync(1 + kw, kGroupThreads);
    }
}

}  // namespace attention_mma
}  // namespace fc
