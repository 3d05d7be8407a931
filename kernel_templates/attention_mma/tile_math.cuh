// attention_mma: steps of one warp's work on one K/V tile, all in registers (S = Q.K^T itself
// is in main_loop.cuh): Q's fragments, the diagonal/tail mask, the online-softmax update that
// turns S into the A fragments of P, O += P.V, and the row statistics after the sweep.
// Fragment and ldmatrix lane maps: docs/attention_mma.md.
#pragma once
#include "common/attention_mask.cuh"
#include "common/mma_m16n8k16.cuh"
#include "common/numeric.cuh"
#include "common/softmax.cuh"
#include "common/swizzle.cuh"
#include "attention_mma/config.cuh"
#include "attention_mma/scheduler.cuh"

namespace fc {
namespace attention_mma {

using SAcc = float[kMTiles][kNTiles][4];  // S (then P) of one K/V tile
using PFrag = unsigned[kMTiles][kPSteps][4];
using QFrag = unsigned[kQInRegs ? kMTiles : 1][kQInRegs ? kKSteps : 1][4];  // Q's A fragments (q_in_regs=1)

// Q's A fragments of every m-tile and k-step, read once (q_in_regs=1).
__device__ __forceinline__ void load_q_fragments(QFrag& q_frag, unsigned smem_base, unsigned q_lane) {
#pragma unroll
    for (int mt = 0; mt < kMTiles; ++mt)
#pragma unroll
        for (int kk = 0; kk < kKSteps; ++kk)
            mma::ldmatrix_x4(q_frag[mt][kk], smem_base + swizzle::chunk_addr(q_lane, 2 * kk) + mt * 16 * kRowBytes);
}

// -inf for every key of tile t that its row must not see. Only tiles that cross the causal
// diagonal or the Skv tail need it; the key limits are recomputed here rather than kept live
// across the loop.
__device__ __forceinline__ void mask_tile(SAcc& s_acc, const FcAttentionParams& p, int t, int q0, int warp_row0, int g,
                                          int tq) {
    const int key0 = t * kBlockN + 2 * tq;
#pragma unroll
    for (int mt = 0; mt < kMTiles; ++mt)
#pragma unroll
        for (int hf = 0; hf < 2; ++hf) {
            const int limit = visible_keys(p, query_pos(p, q0 + warp_row0 + mt * 16 + hf * 8 + g)) - key0;
#pragma unroll
            for (int nt = 0; nt < kNTiles; ++nt)
#pragma unroll
                for (int e = 0; e < 2; ++e)
                    if (nt * 8 + e >= limit) s_acc[mt][nt][2 * hf + e] = neg_inf();
        }
}

// Online softmax step (common/softmax.cuh) on the raw scores: the running max stays unscaled
// and the scale is folded into one FFMA per exponential. S becomes P in place, O and the
// lane's share of the row sum are rescaled, and P is packed into the A fragments of P.V.
__device__ __forceinline__ void softmax_tile(SAcc& s_acc, PFrag& p_frag, RowStat& row_max, RowStat& row_sum,
                                             OAcc& o_acc, float scale_log2) {
#pragma unroll
    for (int mt = 0; mt < kMTiles; ++mt) {
#pragma unroll
        for (int hf = 0; hf < 2; ++hf) {
            float mx = row_max[mt][hf];
#pragma unroll
            for (int nt = 0; nt < kNTiles; ++nt)
                mx = fmaxf(mx, fmaxf(s_acc[mt][nt][2 * hf], s_acc[mt][nt][2 * hf + 1]));
            mx = softmax::quad_max(mx);
            // A row that has seen no key yet keeps max -inf: exponentiate against 0
            // instead so masked scores give exp2(-inf) = 0, never inf - inf = NaN.
            const float shift = mx == neg_inf() ? 0.f : mx * scale_log2;
            const float corr = softmax::fast_exp2(row_max[mt][hf] * scale_log2 - shift);
            row_max[mt][hf] = mx;
            float sum = 0.f;
#pragma unroll
            for (int nt = 0; nt < kNTiles; ++nt)
#pragma unroll
                for (int e = 0; e < 2; ++e) {
                    const float pv = softmax::fast_exp2(fmaf(s_acc[mt][nt][2 * hf + e], scale_log2, -shift));
                    s_acc[mt][nt][2 * hf + e] = pv;
                    sum += pv;
                }
            row_sum[mt][hf] = row_sum[mt][hf] * corr + sum;
#pragma unroll
            for (int dt = 0; dt < kDTiles; ++dt) {
                o_acc[mt][dt][2 * hf] *= corr;
                o_acc[mt][dt][2 * hf + 1] *= corr;
            }
        }
        // C fragments of S n-tiles (2j, 2j+1) are exactly the A fragment of P's k-step j.
#pragma unroll
        for (int j = 0; j < kPSteps; ++j) {
            p_frag[mt][j][0] = mma::pack2<kBf16>(s_acc[mt][2 * j][0], s_acc[mt][2 * j][1]);
            p_frag[mt][j][1] = mma::pack2<kBf16>(s_acc[mt][2 * j][2], s_acc[mt][2 * j][3]);
            p_frag[mt][j][2] = mma::pack2<kBf16>(s_acc[mt][2 * j + 1][0], s_acc[mt][2 * j + 1][1]);
            p_frag[mt][j][3] = mma::pack2<kBf16>(s_acc[mt][2 * j + 1][2], s_acc[mt][2 * j + 1][3]);
        }
    }
}

// O += P.V for the V tile at `v_stage` (this lane's ldmatrix .trans address within it).
__device__ __forceinline__ void pv_tile(OAcc& o_acc, const PFrag& p_frag, unsigned smem_base, unsigned v_stage) {
#pragma unroll
    for (int j = 0; j < kPSteps; ++j) {
#pragma unroll
        for (int dp = 0; dp < kDTiles / 2; ++dp) {
            unsigned bv[4];
            mma::ldmatrix_x4_trans(bv, smem_base + swizzle::chunk_addr(v_stage, 2 * dp) + j * 16 * kRowBytes);
#pragma unroll
            for (int mt = 0; mt < kMTiles; ++mt) {
                mma::mma_16816<kBf16>(o_acc[mt][2 * dp], p_frag[mt][j], bv[0], bv[1]);
                mma::mma_16816<kBf16>(o_acc[mt][2 * dp + 1], p_frag[mt][j], bv[2], bv[3]);
            }
        }
    }
}

// After the sweep: quad-reduces each lane's share of the row sums and converts the raw
// running max to the log2 domain (-inf stays -inf).
__device__ __forceinline__ void row_statistics(float scale_log2, const RowStat& row_max, RowStat& row_sum,
                                               RowStat& m_log2) {
#pragma unroll
    for (int mt = 0; mt < kMTiles; ++mt)
#pragma unroll
        for (int hf = 0; hf < 2; ++hf) {
            row_sum[mt][hf] = softmax::quad_sum(row_sum[mt][hf]);
            m_log2[mt][hf] = row_max[mt][hf] == neg_inf() ? neg_inf() : row_max[mt][hf] * scale_log2;
        }
}

}  // namespace attention_mma
}  // namespace fc
