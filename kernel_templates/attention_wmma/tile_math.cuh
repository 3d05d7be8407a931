// attention_wmma: the CTA's work on one K/V tile, through shared memory: S = Q.K^T on WMMA
// fragments dealt round-robin to the warps, the online softmax (one warp per row, common/
// softmax.cuh) that writes P over S and rescales the O rows, and O += P.V (WMMA with a half P,
// or fp32 FMAs with p_dtype=f32).
#pragma once
#include <mma.h>
#include "common/attention_params.h"
#include "common/numeric.cuh"
#include "common/softmax.cuh"
#include "attention_wmma/config.cuh"

namespace fc {
namespace attention_wmma {

namespace wmma = nvcuda::wmma;

// ---- S = Q K^T -----------------------------------------------------------------------------
__device__ __forceinline__ void compute_scores(const Ctx& c, int buf) {
    const elem_t* sk = c.k + buf * (kBlockN * kLdKV);
#pragma unroll 1
    for (int f = warp_id(); f < kSFrags; f += kWarps) {
        const int fm = f / kFragsN;
        const int fn = f % kFragsN;
        wmma::fragment<wmma::accumulator, kFrag, kFrag, kFrag, float> acc;
        wmma::fill_fragment(acc, 0.f);
#pragma unroll
        for (int kk = 0; kk < kFragsD; ++kk) {
            wmma::fragment<wmma::matrix_a, kFrag, kFrag, kFrag, elem_t, wmma::row_major> a;
            wmma::fragment<wmma::matrix_b, kFrag, kFrag, kFrag, elem_t, wmma::col_major> bk;
            wmma::load_matrix_sync(a, c.q + fm * kFrag * kLdQ + kk * kFrag, kLdQ);
            wmma::load_matrix_sync(bk, sk + fn * kFrag * kLdKV + kk * kFrag, kLdKV);  // K rows = K^T cols
            wmma::mma_sync(acc, a, bk, acc);
        }
        float* s_tile = c.s + fm * kFrag * kLdS + fn * kFrag;
#if FC_FAULT == FC_FAULT_LOCAL_WMMA
        // Planted fault (the seed's bug): WMMA store into a per-thread local array. wmma
        // load/store need shared or global memory; the compiler warns "cannot perform wmma load
        // or store on local memory" and the result is undefined (faults or garbage).
        float local_tile[kFrag * kFrag];
        wmma::store_matrix_sync(local_tile, acc, kFrag, wmma::mem_row_major);
        for (int e = lane_id(); e < kFrag * kFrag; e += kWarpSize)
            s_tile[(e / kFrag) * kLdS + e % kFrag] = local_tile[e];
#else
        wmma::store_matrix_sync(s_tile, acc, kLdS, wmma::mem_row_major);
#endif
    }
}

// Scaled, masked log2-domain scores of row r held by this lane (keys lane + 32 * i).
__device__ __forceinline__ void load_row_scores(const FcAttentionParams& p, const Ctx& c, int r, int kv0,
                                                float (&s)[kKeysPerLane]) {
    const int keys = row_keys(p, c.q0 + r);
    const float* srow = c.s + r * kLdS;
#pragma unroll
    for (int i = 0; i < kKeysPerLane; ++i) {
        const int col = lane_id() + i * kWarpSize;
        s[i] = kv0 + col < keys ? srow[col] * p.scale_log2 : neg_inf();
    }
}

// ---- online softmax over one tile: P over S, O rows rescaled, m and l updated ----------------
__device__ __forceinline__ void softmax_tile(const FcAttentionParams& p, const Ctx& c, int kv0) {
    const int lane = lane_id();
#pragma unroll 1
    for (int r = warp_id(); r < kBlockM; r += kWarps) {
        float s[kKeysPerLane];
        load_row_scores(p, c, r, kv0, s);
        float tile_max = neg_inf();
#pragma unroll
        for (int i = 0; i < kKeysPerLane; ++i) tile_max = fmaxf(tile_max, s[i]);
        tile_max = softmax::warp_max(tile_max);

        const float m_old = c.m[r];
        const float m_new = fmaxf(m_old, tile_max);
        const float base = softmax::base(m_new);
        float sum = 0.f;
#pragma unroll
        for (int i = 0; i < kKeysPerLane; ++i) {
            s[i] = exp2f(s[i] - base);  // masked: exp2(-inf) = 0
            sum += s[i];
        }
        sum = softmax::warp_sum(sum);
        const float alpha = exp2f(m_old - base);  // 0 on the first visible tile (m_old = -inf)

        __syncwarp();  // every lane has read its S values and m_old before P and m are written
        float* srow = c.s + r * kLdS;
        if constexpr (kP16) {
            __half* prow = reinterpret_cast<__half*>(srow);  // P row aliases the front of the S row
#pragma unroll
            for (int i = 0; i < kKeysPerLane; ++i) prow[lane + i * kWarpSize] = __float2half_rn(s[i]);
        } else {
#pragma unroll
            for (int i = 0; i < kKeysPerLane; ++i) srow[lane + i * kWarpSize] = s[i];
        }
        if (lane == 0) {
            c.m[r] = m_new;
            c.l[r] = c.l[r] * alpha + sum;
        }
        if (alpha != 1.f) {  // uniform over the warp
            float* orow = c.o + r * kLdO;
#pragma unroll
            for (int d = lane; d < kHeadDim; d += kWarpSize) orow[d] *= alpha;
        }
    }
}

// ---- O += P V --------------------------------------------------------------------------------
__device__ __forceinline__ void pv_tile(const Ctx& c, int buf) {
    const elem_t* sv = c.v + buf * (kBlockN * kLdKV);
#if FC_P_DTYPE == FC_P_DTYPE_F16
    const __half* sp = reinterpret_cast<const __half*>(c.s);
#pragma unroll 1
    for (int f = warp_id(); f < kOFrags; f += kWarps) {
        const int fm = f / kFragsD;
        const int fd = f % kFragsD;
        float* o_tile = c.o + fm * kFrag * kLdO + fd * kFrag;
        wmma::fragment<wmma::accumulator, kFrag, kFrag, kFrag, float> acc;
        wmma::load_matrix_sync(acc, o_tile, kLdO, wmma::mem_row_major);
#pragma unroll
        for (int kk = 0; kk < kFragsN; ++kk) {
            wmma::fragment<wmma::matrix_a, kFrag, kFrag, kFrag, __half, wmma::row_major> a;
            wmma::fragment<wmma::matrix_b, kFrag, kFrag, kFrag, __half, wmma::row_major> bv;
            wmma::load_matrix_sync(a, sp + fm * kFrag * kLdP + kk * kFrag, kLdP);
            wmma::load_matrix_sync(bv, sv + kk * kFrag * kLdKV + fd * kFrag, kLdKV);
            wmma::mma_sync(acc, a, bv, acc);
        }
        wmma::store_matrix_sync(o_tile, acc, kLdO, wmma::mem_row_major);
    }
#else
    // fp32 P (in the S tile) times V converted exactly to fp32: each work item is a 4-row x
    // 8-column block of O (32 accumulators), consecutive threads take consecutive column blocks.
    constexpr int kRowsPerItem = 4;
    constexpr int kColsPerItem = 8;
    constexpr int kColItems = kHeadDim / kColsPerItem;
    constexpr int kItems = (kBlockM / kRowsPerItem) * kColItems;
#pragma unroll 1
    for (int item = static_cast<int>(threadIdx.x); item < kItems; item += kThreads) {
        const int r0 = (item / kColItems) * kRowsPerItem;
        const int c0 = (item % kColItems) * kColsPerItem;
        float acc[kRowsPerItem][kColsPerItem];
#pragma unroll
        for (int r = 0; r < kRowsPerItem; ++r) {
            const float4* src = reinterpret_cast<const float4*>(c.o + (r0 + r) * kLdO + c0);
            const float4 x = src[0], y = src[1];
            acc[r][0] = x.x; acc[r][1] = x.y; acc[r][2] = x.z; acc[r][3] = x.w;
            acc[r][4] = y.x; acc[r][5] = y.y; acc[r][6] = y.z; acc[r][7] = y.w;
        }
#pragma unroll 2
        for (int j = 0; j < kBlockN; ++j) {
            const uint4 raw = *reinterpret_cast<const uint4*>(sv + j * kLdKV + c0);
            float vf[kColsPerItem];
            const unsigned words[4] = {raw.x, raw.y, raw.z, raw.w};
#pragma unroll
            for (int w = 0; w < 4; ++w) {
                vf[2 * w] = bits_to_float<elem_t>(static_cast<unsigned short>(words[w] & 0xffffu));
                vf[2 * w + 1] = bits_to_float<elem_t>(static_cast<unsigned short>(words[w] >> 16));
            }
#pragma unroll
            for (int r = 0; r < kRowsPerItem; ++r) {
                const float pr = c.s[(r0 + r) * kLdS + j];
#pragma unroll
                for (int cc = 0; cc < kColsPerItem; ++cc) acc[r][cc] = fmaf(pr, vf[cc], acc[r][cc]);
            }
        }
#pragma unroll
        for (int r = 0; r < kRowsPerItem; ++r) {
            float4* dst = reinterpret_cast<float4*>(c.o + (r0 + r) * kLdO + c0);
            dst[0] = make_float4(acc[r][0], acc[r][1], acc[r][2], acc[r][3]);
            dst[1] = make_float4(acc[r][4], acc[r][5], acc[r][6], acc[r][7]);
        }
    }
#endif
}

}  // namespace attention_wmma
}  // namespace fc
