// attention_wmma: the debug stops (stage=qk / softmax) write S or the normalized P to
// p.debug [B, Hq, Sq, Skv] instead of O (docs/templates.md).
#pragma once
#include "common/attention_params.h"
#include "common/numeric.cuh"
#include "common/softmax.cuh"
#include "attention_wmma/config.cuh"
#include "attention_wmma/tile_math.cuh"

namespace fc {
namespace attention_wmma {

#if FC_STAGE != FC_STAGE_FULL
// stage=qk: S = scale * q.k (fp32), -inf where masked.
__device__ __forceinline__ void dump_scores(const FcAttentionParams& p, const Ctx& c, int kv0) {
    const int lane = lane_id();
#pragma unroll 1
    for (int r = warp_id(); r < kBlockM; r += kWarps) {
        const int i = c.q0 + r;
        if (i >= p.Sq) break;  // rows only grow along the loop
        const int keys = row_keys(p, i);
        float* out = p.debug + c.debug_row0 + static_cast<long long>(r) * p.Skv;
        const float* srow = c.s + r * kLdS;
#pragma unroll
        for (int i2 = 0; i2 < kKeysPerLane; ++i2) {
            const int j = kv0 + lane + i2 * kWarpSize;
            if (j < p.Skv) out[j] = j < keys ? srow[lane + i2 * kWarpSize] * p.scale : neg_inf();
        }
    }
}

// stage=softmax (second pass): P = round_p(exp2(s - m)) / l with the row's final m and l, i.e.
// the normalized weights the production kernel applies, P rounded to p_dtype as it would be.
__device__ __forceinline__ void dump_probs(const FcAttentionParams& p, const Ctx& c, int kv0) {
    const int lane = lane_id();
#pragma unroll 1
    for (int r = warp_id(); r < kBlockM; r += kWarps) {
        const int i = c.q0 + r;
        if (i >= p.Sq) break;
        float s[kKeysPerLane];
        load_row_scores(p, c, r, kv0, s);
        const float base = softmax::base(c.m[r]);
        const float inv_l = softmax::normalizer(c.l[r]);
        float* out = p.debug + c.debug_row0 + static_cast<long long>(r) * p.Skv;
#pragma unroll
        for (int i2 = 0; i2 < kKeysPerLane; ++i2) {
            const int j = kv0 + lane + i2 * kWarpSize;
            if (j < p.Skv) out[j] = round_p(exp2f(s[i2] - base)) * inv_l;
        }
    }
}

// Keys past the last visited tile are masked for every row of the CTA: S = -inf, P = 0.
__device__ __forceinline__ void dump_tail(const FcAttentionParams& p, const Ctx& c, float fill) {
    const int rows = min(kBlockM, p.Sq - c.q0);
#pragma unroll 1
    for (int r = warp_id(); r < rows; r += kWarps) {
        float* out = p.debug + c.debug_row0 + static_cast<long long>(r) * p.Skv;
        for (int j = c.n_tiles * kBlockN + lane_id(); j < p.Skv; j += kWarpSize) out[j] = fill;
    }
}
#endif

}  // namespace attention_wmma
}  // namespace fc
