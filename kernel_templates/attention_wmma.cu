// attention_wmma: FlashAttention-2-style attention forward on WMMA 16x16x16 tensor-core tiles.
//
// One CTA per (block of FC_BLOCK_M query rows, query head, batch). The CTA keeps its Q tile in
// shared memory and streams K/V tiles of FC_BLOCK_N keys through FC_STAGES shared-memory
// buffers (copy=sync: plain loads; pipeline: cp.async; memcpy_async: cooperative groups).
// Per K/V tile:
//   (A) wait for the tile, barrier, prefetch the tile FC_STAGES-1 ahead into the buffer freed
//       by the previous iteration;
//   S = Q K^T        WMMA (fp32 accumulate) into an fp32 shared tile; the 16x16 fragments of
//                    S are dealt round-robin to the warps (fragment f -> warp f % FC_WARPS);
//   (B) barrier;
//   online softmax   one warp per row (rows r, r + FC_WARPS, ...), 32 lanes across the keys:
//                    mask, running max m and sum l (log2 domain, exp2f), P written over the S
//                    row (as __half for p_dtype=f16, as float for p_dtype=f32), and the row of
//                    O rescaled by alpha = exp2(m_old - m_new) in shared memory;
//   (C) barrier;
//   O += P V         p_dtype=f16: WMMA half x half -> fp32, O fragments dealt round-robin to
//                    warps, loaded from and stored back to the fp32 O tile in shared memory;
//                    p_dtype=f32: plain fp32 FMAs (each thread owns 4x8 blocks of O), P and
//                    the fp32-converted V are never rounded.
// The O accumulator lives in shared memory (fp32), so rescaling is a row operation and no
// fragment layout knowledge is needed. At the end O is divided by l and written as dtype;
// lse = (m + log2 l) * ln 2. Rows past Sq are zero-filled and never stored; K/V rows past
// Skv are zero-filled and their scores masked to -inf; causal=1 masks bottom-right and does
// not visit K/V tiles that every row of the CTA has masked. A row with no visible key gets
// O = 0 and lse = -inf.
//
// Debug stops (stage=qk / softmax) write p.debug [B, Hq, Sq, Skv] only (no o, no lse).
//
// Layers (attention_wmma/): config (constants, shared-memory layout, context), kv_pipeline
// (copies and the tile ring), tile_math (S, softmax, P.V on one tile), debug_dump (stage
// dumps), main_loop (the K/V loop), epilogue (O and LSE).
#include "common/attention_mask.cuh"
#include "common/attention_params.h"
#include "attention_wmma/config.cuh"
#include "attention_wmma/kv_pipeline.cuh"
#include "attention_wmma/main_loop.cuh"
#include "attention_wmma/debug_dump.cuh"
#include "attention_wmma/epilogue.cuh"

namespace fc {

__global__ void __launch_bounds__(FC_THREADS, 1) attention_wmma_fwd(const FcAttentionParams p) {
    using namespace attention_wmma;
    extern __shared__ __align__(128) unsigned char smem[];

    const int b = blockIdx.z;
    const int h = blockIdx.y;
    const int hk = kv_head_of(p, h);
    const int q0 = blockIdx.x * kBlockM;
    const int rows_q = min(kBlockM, p.Sq - q0);

#if FC_FAULT == FC_FAULT_OOB
    // Planted fault: every CTA writes 2 TiB past the start of o (illegal address).
    if (threadIdx.x == 0) {
        volatile unsigned short* far = reinterpret_cast<volatile unsigned short*>(static_cast<elem_t*>(p.o) + (1ll << 40));
        *far = 0;
    }
#endif

    Ctx c;
    c.q = reinterpret_cast<elem_t*>(smem + kOffQ);
    c.k = reinterpret_cast<elem_t*>(smem + kOffK);
    c.v = reinterpret_cast<elem_t*>(smem + kOffV);
    c.s = reinterpret_cast<float*>(smem + kOffS);
    c.o = reinterpret_cast<float*>(smem + kOffO);
    c.m = reinterpret_cast<float*>(smem + kOffM);
    c.l = reinterpret_cast<float*>(smem + kOffL);
    c.k_head = static_cast<const elem_t*>(p.k) + b * p.k_stride[0] + hk * p.k_stride[1];
    c.v_head = static_cast<const elem_t*>(p.v) + b * p.v_stride[0] + hk * p.v_stride[1];
    c.k_stride = p.k_stride[2];
    c.v_stride = p.v_stride[2];
    c.kv_aligned = is_aligned16(c.k_head, c.k_stride * 2) && is_aligned16(c.v_head, c.v_stride * 2);
    c.q0 = q0;
    c.debug_row0 = (static_cast<long long>(b) * p.Hq + h) * p.Sq * p.Skv + static_cast<long long>(q0) * p.Skv;
    // Keys any row of this CTA can see: the last row sees the most (causal), all otherwise.
    const int kv_end = kCausal ? visible_keys(p, q0 + rows_q - 1) : p.Skv;
    c.n_tiles = (kv_end + kBlockN - 1) / kBlockN;

#if FC_STAGE != FC_STAGE_FULL
    if (p.debug == nullptr) return;  // uniform over the CTA
#endif

    // O = 0, m = -inf, l = 0 (published by the first barrier, or the one after the loop).
    for (int idx = threadIdx.x; idx < kBlockM * kLdO / 4; idx += kThreads)
        reinterpret_cast<float4*>(c.o)[idx] = make_float4(0.f, 0.f, 0.f, 0.f);
    for (int r = threadIdx.x; r < kBlockM; r += kThreads) {
        c.m[r] = neg_inf();
        c.l[r] = 0.f;
    }

    if (c.n_tiles > 0) {  // uniform over the CTA
        const elem_t* q_tile = static_cast<const elem_t*>(p.q) + b * p.q_stride[0] + h * p.q_stride[1] +
                               static_cast<long long>(q0) * p.q_stride[2];
        QCopy::issue(c.q, q_tile, p.q_stride[2], rows_q, is_aligned16(q_tile, p.q_stride[2] * 2));
        if constexpr (kCopy == kCopyPipeline) __pipeline_commit();  // Q: its own, oldest group
#if FC_STAGE == FC_STAGE_FULL
        kv_loop<kPassFull>(p, c);
#elif FC_STAGE == FC_STAGE_QK
        kv_loop<kPassScores>(p, c);
#else
        kv_loop<kPassStats>(p, c);
        kv_loop<kPassProbs>(p, c);
#endif
    } else {
        __syncthreads();
    }

#if FC_STAGE == FC_STAGE_FULL
    store_output(p, c, b, h, q0, rows_q);
    if (p.lse != nullptr) {
        float* lse_row = p.lse + (static_cast<long long>(b) * p.Hq + h) * p.Sq + q0;
        for (int r = threadIdx.x; r < rows_q; r += kThreads) lse_row[r] = softmax::lse(c.m[r], c.l[r]);
    }
#elif FC_STAGE == FC_STAGE_QK
    dump_tail(p, c, neg_inf());
#else
    dump_tail(p, c, 0.f);
#endif
}

}  // namespace fc

