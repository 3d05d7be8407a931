// attention_wmma: global -> shared copies of Q and the K/V tiles in one of three copy modes
// (common/tile_copy.cuh), the tile ring of `stages` buffers and the wait before a tile is used.
#pragma once
#include "common/attention_params.h"
#include "common/tile_copy.cuh"
#if FC_COPY == FC_COPY_MEMCPY_ASYNC
#include "common/tile_copy_cg.cuh"  // <cooperative_groups.h> costs most of a second of NVRTC time
#endif
#include "attention_wmma/config.cuh"

namespace fc {
namespace attention_wmma {

using QCopy = TileCopy<kCopy, elem_t, kBlockM, kHeadDim, kLdQ, kThreads>;
using KVCopy = TileCopy<kCopy, elem_t, kBlockN, kHeadDim, kLdKV, kThreads>;
// memcpy_async batches each thread commits per K/V tile (K and V).
[[maybe_unused]] constexpr int kBatchesPerTile = 2 * KVCopy::kBatches;
// K/V tiles still allowed in flight when iteration t waits for tile t: tiles t+1 .. t+kStages-2
// were issued by earlier iterations (tile t+kStages-1 is issued after the wait).
constexpr int kTilesInFlight = kStages > 1 ? kStages - 2 : 0;

__device__ __forceinline__ void issue_kv(const FcAttentionParams& p, const Ctx& c, int t) {
    const int buf = t % kStages;
    elem_t* sk = c.k + buf * (kBlockN * kLdKV);
    elem_t* sv = c.v + buf * (kBlockN * kLdKV);
    if (t < c.n_tiles) {
        const int kv0 = t * kBlockN;
        const int valid = min(kBlockN, p.Skv - kv0);
        KVCopy::issue(sk, c.k_head + kv0 * c.k_stride, c.k_stride, valid, c.kv_aligned);
        KVCopy::issue(sv, c.v_head + kv0 * c.v_stride, c.v_stride, valid, c.kv_aligned);
    } else {
        KVCopy::issue_empty(sk);  // keeps every thread's memcpy_async batch count uniform
        KVCopy::issue_empty(sv);
    }
    if constexpr (kCopy == kCopyPipeline) __pipeline_commit();  // one group per tile (maybe empty)
}

// Wait until K/V tile t (and Q) has landed for this thread, then barrier: the tile is visible to
// the whole CTA and every thread has finished the previous iteration.
__device__ __forceinline__ void wait_kv() {
    if constexpr (kCopy == kCopyPipeline) {
        __pipeline_wait_prior(kTilesInFlight);
        __syncthreads();
    } else if constexpr (kCopy == kCopyMemcpyAsync) {
#if FC_COPY == FC_COPY_MEMCPY_ASYNC
        namespace cg = cooperative_groups;
        if constexpr (kTilesInFlight == 0) {
            cg::wait(cg::this_thread_block());  // includes the block barrier
        } else {
            // (cp.async.wait_group takes at most 8 here: a larger N waits for more, still correct)
            cg::wait_prior<kTilesInFlight * kBatchesPerTile>(cg::this_thread_block());
        }
#endif
    } else {
        __syncthreads();
    }
}

}  // namespace attention_wmma
}  // namespace fc
