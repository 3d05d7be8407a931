// attention_mma: the K/V sweep of one warp, as the collective main loop of the kernel. It
// loads Q and the kv group's K/V tiles through the group's `stages`-deep ring (cp.async commit
// groups, group barriers), runs tile_math.cuh on each tile and hands the warp's final state to
// the epilogue: epilogue(o_acc, m_log2, row_sum) with unnormalized O, the row max in the log2
// domain and the full row sums, no copy in flight. The accumulators live here, not in the
// kernel: passed in by reference, ptxas allocated them differently (SASS changed).
// Pipeline schedules (kv_warps = 1 and > 1): docs/attention_mma.md.
#pragma once
#include "common/attention_mask.cuh"
#include "common/attention_params.h"
#include "common/cp_async.cuh"
#include "common/mma_m16n8k16.cuh"
#include "common/numeric.cuh"
#include "common/swizzle.cuh"
#include "attention_mma/config.cuh"
#include "attention_mma/scheduler.cuh"
#include "attention_mma/tile_loader.cuh"
#include "attention_mma/tile_math.cuh"

namespace fc {
namespace attention_mma {

// `smem_base` is the shared address of the dynamic shared memory (1024-aligned); offsets are
// relative to it, so the XOR addressing of common/swizzle.cuh holds whatever the window base.
template <class Epilogue>
__device__ __forceinline__ void main_loop(const FcAttentionParams& p, unsigned smem_base, int tid, const LaneCoord& me,
                                          const CtaCoord& cta, const Epilogue& epilogue) {
    const int lane = me.lane, g = me.g, tq = me.tq, warp_row0 = me.warp_row0;
    const int h = cta.h, b = cta.b, q0 = cta.q0;
    const int hk = kPackGqa ? h : kv_head_of(p, h);
    const KvRange kv = kv_range(p, cta, me);
    const int mask_from = kv.mask_from, t_first = kv.t_first, t_end = kv.t_end;
    // Each kv group has its own ring, loaded by its own kGroupThreads threads.
    const unsigned ring = static_cast<unsigned>(me.kw * kSlotBytes);
    const int gid = tid - me.kw * kGroupThreads;

    const elem_t* q_tile = static_cast<const elem_t*>(p.q) + b * p.q_stride[0] + h * p.q_stride[1] + q0 * p.q_stride[2];
    const elem_t* k_head = static_cast<const elem_t*>(p.k) + b * p.k_stride[0] + hk * p.k_stride[1];
    const elem_t* v_head = static_cast<const elem_t*>(p.v) + b * p.v_stride[0] + hk * p.v_stride[1];
    const elem_t* safe_src = static_cast<const elem_t*>(p.k);

    // ---- per-lane ldmatrix addresses (see common/swizzle.cuh) -----------------------
    // Q (A operand, non-trans): lanes 0-15 rows 0-15 of the m-tile at chunk 2kk, lanes 16-31
    // the same rows at chunk 2kk+1 -> registers a0..a3 in mma order.
    const unsigned q_lane = swizzle::offset<kRowBytes>(warp_row0 + (lane & 15), lane >> 4);
    // K (B operand of S, non-trans): matrix i = lane/8 is key rows (i/2)*8.. at chunk 2kk + i%2
    // -> b0,b1 of n-tile 2np then b0,b1 of n-tile 2np+1.
    const unsigned k_lane = ring + swizzle::offset<kRowBytes>(((lane >> 4) << 3) + (lane & 7), (lane >> 3) & 1);
    // V (B operand of O, .trans): matrix i is key rows (i%2)*8.. at chunk 2dp + i/2
    // -> b0,b1 of d-tile 2dp then b0,b1 of d-tile 2dp+1.
    const unsigned v_lane = ring + swizzle::offset<kRowBytes>(lane & 15, lane >> 4);

    float o_acc[kMTiles][kDTiles][4];
    float row_max[kMTiles][2];  // raw (unscaled) running max of q.k; -inf until a key is seen
    float row_sum[kMTiles][2];  // this lane's share of sum(exp2(s * scale_log2 - max * scale_log2))
#pragma unroll
    for (int mt = 0; mt < kMTiles; ++mt) {
#pragma unroll
        for (int dt = 0; dt < kDTiles; ++dt)
#pragma unroll
            for (int e = 0; e < 4; ++e) o_acc[mt][dt][e] = 0.f;
#pragma unroll
        for (int hf = 0; hf < 2; ++hf) {
            row_max[mt][hf] = neg_inf();
            row_sum[mt][hf] = 0.f;
        }
    }
    const float scale_log2 = p.scale_log2;

    if (kv.t_begin < t_end) {  // uniform over the CTA (Q is loaded by all of it)
        // ---- prologue: Q, then K_0, (V_0, K_1), ..., (V_{S-2}, K_{S-1}) ------------------
        // (indices count the tiles of this kv group's sequence.) Per-thread group order is Q,
        // K_0, V_0, K_1, V_1, ...; with kv_warps = 1, at each wait below exactly 2*stages - 2
        // newer groups may still be in flight. With kv_warps > 1 the prologue also issues
        // V_{S-1} (both rings start full: a group with only a few tiles has all of them in
        // flight at once) and one more group may be in flight at the K wait. The whole CTA
        // loads Q; each kv group loads its own tiles.
        if constexpr (kPackGqa) {
            // Row r of the tile: position (q0 + r) / G of query head hk * G + (q0 + r) % G.
            const int group = group_size(p), rows = rows_per_head(p);
            const elem_t* q_batch = static_cast<const elem_t*>(p.q) + b * p.q_stride[0];
            load_rows<kBlockM, kThreads>(
                smem_base,
                [&](int r) -> const elem_t* {
                    const int row = q0 + r;
                    if (row >= rows) return nullptr;
                    const int pos = row / group;
                    return q_batch + (hk * group + (row - pos * group)) * p.q_stride[1] + pos * p.q_stride[2];
                },
                safe_src, tid);
        } else {
            load_tile<kBlockM, kThreads>(smem_base, q_tile, p.q_stride[2], p.Sq - q0, safe_src, tid);
        }
        cp_async::commit();
#pragma unroll
        for (int s = 0; s < kStages; ++s) {
            if (kKvWarps == 1 && s > 0) {
                const int tv = t_first + s * kKvWarps - kKvWarps;  // tile s-1 of the sequence
                if (tv < t_end)
                    load_tile<kBlockN, kGroupThreads>(smem_base + ring + kVOffset + (s - 1) * kKVTileBytes,
                                                      v_head + tv * kBlockN * p.v_stride[2], p.v_stride[2],
                                                      p.Skv - tv * kBlockN, safe_src, gid);
                cp_async::commit();
            }
            const int tk = t_first + s * kKvWarps;
            if (tk < t_end)
                load_tile<kBlockN, kGroupThreads>(smem_base + ring + kKOffset + s * kKVTileBytes,
                                                  k_head + tk * kBlockN * p.k_stride[2], p.k_stride[2],
                                                  p.Skv - tk * kBlockN, safe_src, gid);
            cp_async::commit();
            if (kKvWarps > 1) {
                if (tk < t_end)
                    load_tile<kBlockN, kGroupThreads>(smem_base + ring + kVOffset + s * kKVTileBytes,
                                                      v_head + tk * kBlockN * p.v_stride[2], p.v_stride[2],
                                                      p.Skv - tk * kBlockN, safe_src, gid);
                cp_async::commit();
            }
        }
        constexpr int kPendingAtK = kKvWarps == 1 ? 2 * kStages - 2 : 2 * kStages - 1;

        QFrag q_frag;
        // With kv_warps > 1 the loop's barriers are group barriers: Q (loaded by the whole
        // CTA) needs this one CTA barrier before any warp reads it.
        if constexpr (kQInRegs || kKvWarps > 1) {
            cp_async::wait<kPendingAtK + 1>();  // the Q group
            __syncthreads();
        }
        if constexpr (kQInRegs) load_q_fragments(q_frag, smem_base, q_lane);

        int slot = 0;  // ring slot of tile t (K and V alike)
        for (int t = t_first; t < t_end; t += kKvWarps) {
            // K_t has landed (and, after the barrier, with kv_warps = 1 every warp has finished
            // P.V of the previous tile, so that V slot is free for the tile S-1 ahead; with
            // kv_warps > 1 the V tile S ahead was issued at the end of the previous tile).
            cp_async::wait<kPendingAtK>();
            group_sync(me.kw);
            if constexpr (kKvWarps == 1) {
                const int tv = t + kStages * kKvWarps - kKvWarps;  // S-1 tiles ahead
                const int vslot = slot == 0 ? kStages - 1 : slot - 1;
                if (tv < t_end)
                    load_tile<kBlockN, kGroupThreads>(smem_base + ring + kVOffset + vslot * kKVTileBytes,
                                                      v_head + tv * kBlockN * p.v_stride[2], p.v_stride[2],
                                                      p.Skv - tv * kBlockN, safe_src, gid);
                cp_async::commit();
            }

            // Keep the slot opaque: with a compile-time slot (stages = 1) ptxas would hoist every
            // ldmatrix address out of the loop and hold them all live, which spills at the
            // 192-accumulator edge; recomputing them per tile costs a few IADDs.
            asm volatile("" : "+r"(slot));
            // ---- S = Q.K^T (inline: as a tile_math helper it changed ptxas' register ------
            // allocation of 18 catalogue variants; the other steps are helpers) ------------
            float s_acc[kMTiles][kNTiles][4];
#pragma unroll
            for (int mt = 0; mt < kMTiles; ++mt)
#pragma unroll
                for (int nt = 0; nt < kNTiles; ++nt)
#pragma unroll
                    for (int e = 0; e < 4; ++e) s_acc[mt][nt][e] = 0.f;
            const unsigned k_stage = kKOffset + slot * kKVTileBytes + k_lane;
#pragma unroll
            for (int kk = 0; kk < kKSteps; ++kk) {
                unsigned a[kMTiles][4];
#pragma unroll
                for (int mt = 0; mt < kMTiles; ++mt) {
                    if constexpr (kQInRegs) {
#pragma unroll
                        for (int r = 0; r < 4; ++r) a[mt][r] = q_frag[mt][kk][r];
                    } else {
                        mma::ldmatrix_x4(a[mt], smem_base + swizzle::chunk_addr(q_lane, 2 * kk) + mt * 16 * kRowBytes);
                    }
                }
#pragma unroll
                for (int np = 0; np < kNTiles / 2; ++np) {
                    unsigned bk[4];
                    mma::ldmatrix_x4(bk, smem_base + swizzle::chunk_addr(k_stage, 2 * kk) + np * 16 * kRowBytes);
#pragma unroll
                    for (int mt = 0; mt < kMTiles; ++mt) {
                        mma::mma_16816<kBf16>(s_acc[mt][2 * np], a[mt], bk[0], bk[1]);
                        mma::mma_16816<kBf16>(s_acc[mt][2 * np + 1], a[mt], bk[2], bk[3]);
                    }
                }
            }

            if (t >= mask_from) mask_tile(s_acc, p, t, q0, warp_row0, g, tq);

            PFrag p_frag;
            softmax_tile(s_acc, p_frag, row_max, row_sum, o_acc, scale_log2);

            // V_t has landed; after the barrier every warp of the group is done with K_t,
            // whose slot now takes the K tile S ahead.
            cp_async::wait<2 * kStages - 2>();
            group_sync(me.kw);
            {
                const int tk = t + kStages * kKvWarps;
                if (tk < t_end)
                    load_tile<kBlockN, kGroupThreads>(smem_base + ring + kKOffset + slot * kKVTileBytes,
                                                      k_head + tk * kBlockN * p.k_stride[2], p.k_stride[2],
                                                      p.Skv - tk * kBlockN, safe_src, gid);
                cp_async::commit();
            }

            pv_tile(o_acc, p_frag, smem_base, kVOffset + slot * kKVTileBytes + v_lane);
            if constexpr (kKvWarps > 1) {
                // V_t's slot takes the V tile S ahead as soon as the group is done with it, so
                // it is in flight across the next K wait (no barrier when there is none).
                const int tv = t + kStages * kKvWarps;
                if (tv < t_end) {
                    group_sync(me.kw);
                    load_tile<kBlockN, kGroupThreads>(smem_base + ring + kVOffset + slot * kKVTileBytes,
                                                      v_head + tv * kBlockN * p.v_stride[2], p.v_stride[2],
                                                      p.Skv - tv * kBlockN, safe_src, gid);
                }
                cp_async::commit();
            }
            slot = slot + 1 == kStages ? 0 : slot + 1;
        }
    }
    cp_async::wait<0>();  // only empty groups can remain; nothing may land in the staging tile

    float m_log2[kMTiles][2];
    row_statistics(scale_log2, row_max, row_sum, m_log2);
    epilogue(o_acc, m_log2, row_sum);
}

}  // namespace attention_mma
}  // namespace fc
