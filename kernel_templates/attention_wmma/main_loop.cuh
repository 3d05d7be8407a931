// attention_wmma: the K/V loop of the CTA, one pass over its visible K/V tiles (the debug stops
// run other passes over the same tiles).
#pragma once
#include "common/attention_params.h"
#include "attention_wmma/config.cuh"
#include "attention_wmma/kv_pipeline.cuh"
#include "attention_wmma/tile_math.cuh"
#include "attention_wmma/debug_dump.cuh"

namespace fc {
namespace attention_wmma {

// Barriers per iteration: (A) in wait_kv, (B) after S, (C) after softmax (full pass only) and
// (D) at the end when there is a single buffer. With kStages > 1 the prefetch into buffer
// (t-1) % kStages is issued after (A), when every warp is done with tile t-1. Every thread
// runs every iteration (n_tiles is uniform over the CTA).
template <int kPass>
__device__ __forceinline__ void kv_loop(const FcAttentionParams& p, const Ctx& c) {
    if constexpr (kStages > 1) {
#pragma unroll
        for (int t = 0; t < kStages - 1; ++t) issue_kv(p, c, t);
    }
#pragma unroll 1
    for (int t = 0; t < c.n_tiles; ++t) {
        const int buf = t % kStages;
        const int kv0 = t * kBlockN;
        if constexpr (kStages == 1) issue_kv(p, c, t);
        wait_kv();  // (A)
        if constexpr (kStages > 1) issue_kv(p, c, t + kStages - 1);
        compute_scores(c, buf);
        __syncthreads();  // (B)
#if FC_STAGE != FC_STAGE_FULL
        if constexpr (kPass == kPassScores) {
            dump_scores(p, c, kv0);
        } else if constexpr (kPass == kPassProbs) {
            dump_probs(p, c, kv0);
        } else
#endif
        {
            softmax_tile(p, c, kv0);
        }
        if constexpr (kPass == kPassFull) {
            __syncthreads();  // (C)
            pv_tile(c, buf);
        }
        if constexpr (kStages == 1) __syncthreads();  // (D) buffer 0 and S are reused next
    }
    __syncthreads();  // the last P.V / dump is complete
}

}  // namespace attention_wmma
}  // namespace fc
