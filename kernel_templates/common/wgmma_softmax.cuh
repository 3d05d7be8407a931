// Online softmax on wgmma accumulator fragments (m64nN, fp32). A thread holds two rows of the
// tile, g and g + 8 of its warp's 16 (g = lane / 4); register 4j + 2h + e is row g + 8h,
// column 8j + 2(lane % 4) + e. The four lanes of a quad share a row, so row reductions are two
// xor-shuffles. Scores stay raw (unscaled) in S; exponentials are exp2 with scale * log2(e)
// folded into one FMA, and the running max is kept raw too.
#pragma once
#include "common/mma_m16n8k16.cuh"
#include "common/softmax.cuh"

namespace fc {
namespace wgmma_softmax {

// The same quad layout and packing as the mma.sync fragments: one set of helpers for both.
using mma::pack2;
using softmax::fast_exp2;
using softmax::quad_max;
using softmax::quad_sum;

// Running statistics of this thread's two rows: raw max (-inf until a key is seen) and this
// lane's share of the row sum of exp2(s * scale_log2 - max * scale_log2).
struct Rows {
    float max[2];
    float sum[2];
    __device__ __forceinline__ void init() {
        max[0] = max[1] = __int_as_float(0xff800000);
        sum[0] = sum[1] = 0.f;
    }
    // Completes the row sums across the quad (after the last tile).
    __device__ __forceinline__ void finish() {
        sum[0] = quad_sum(sum[0]);
        sum[1] = quad_sum(sum[1]);
    }
};

// Sets the scores of row half `hf` at columns >= `limit` (relative to this lane's first
// column) to -inf.
template <int kRegs>
__device__ __forceinline__ void mask_row(float (&s)[kRegs], int hf, int limit) {
#pragma unroll
    for (int n8 = 0; n8 < kRegs / 4; ++n8)
#pragma unroll
        for (int e = 0; e < 2; ++e)
            if (8 * n8 + e >= limit) s[4 * n8 + 2 * hf + e] = __int_as_float(0xff800000);
}

// One online-softmax step: S becomes P = exp2(s * scale_log2 - max * scale_log2) in place, the
// row statistics absorb the tile, and `corr` receives the factor earlier O rows must take.
template <int kRegs>
__device__ __forceinline__ void update(float (&s)[kRegs], Rows& rows, float (&corr)[2], float scale_log2) {
#pragma unroll
    for (int hf = 0; hf < 2; ++hf) {
        float mx = rows.max[hf];
#pragma unroll
        for (int n8 = 0; n8 < kRegs / 4; ++n8) mx = fmaxf(mx, fmaxf(s[4 * n8 + 2 * hf], s[4 * n8 + 2 * hf + 1]));
        mx = quad_max(mx);
        // A row that has seen no key keeps max -inf: exponentiate against 0 so masked scores
        // give exp2(-inf) = 0, never inf - inf = NaN.
        const float shift = mx == __int_as_float(0xff800000) ? 0.f : mx * scale_log2;
        corr[hf] = fast_exp2(rows.max[hf] * scale_log2 - shift);
        rows.max[hf] = mx;
        float sum = 0.f;
#pragma unroll
        for (int n8 = 0; n8 < kRegs / 4; ++n8)
#pragma unroll
            for (int e = 0; e < 2; ++e) {
                const float pv = fast_exp2(fmaf(s[4 * n8 + 2 * hf + e], scale_log2, -shift));
                s[4 * n8 + 2 * hf + e] = pv;
                sum += pv;
            }
        rows.sum[hf] = rows.sum[hf] * corr[hf] + sum;
    }
}

// P (fp32 accumulator layout) as the A fragments of the k16 steps of P.V: the C fragments of
// n8 tiles 2k and 2k+1 are exactly the A fragment of k-step k.
template <int kRegs, bool kBf16>
__device__ __forceinline__ void pack_p(const float (&s)[kRegs], unsigned (&pf)[kRegs / 8][4]) {
#pragma unroll
    for (int k = 0; k < kRegs / 8; ++k) {
        pf[k][0] = pack2<kBf16>(s[8 * k + 0], s[8 * k + 1]);
        pf[k][1] = pack2<kBf16>(s[8 * k + 2], s[8 * k + 3]);
        pf[k][2] = pack2<kBf16>(s[8 * k + 4], s[8 * k + 5]);
        pf[k][3] = pack2<kBf16>(s[8 * k + 6], s[8 * k + 7]);
    }
}

}  // namespace wgmma_softmax
}  // namespace fc
