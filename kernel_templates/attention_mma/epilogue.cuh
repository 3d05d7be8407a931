// attention_mma: the output of a CTA's final state: normalize, LSE, O staged as dtype through
// the warp's own Q rows and stored with 16-byte row writes (the real kD columns only; PackGQA
// rows scatter to their query head and position).
#pragma once
#include "common/attention_params.h"
#include "common/mma_m16n8k16.cuh"
#include "common/numeric.cuh"
#include "common/shared_memory.cuh"
#include "common/softmax.cuh"
#include "common/swizzle.cuh"
#include "attention_mma/config.cuh"
#include "attention_mma/scheduler.cuh"

namespace fc {
namespace attention_mma {

// Normalize, write LSE, stage O (as dtype) through this warp's own Q rows and store it with
// 16-byte row-contiguous writes. A row with no visible key has l = 0: O = 0 and lse = -inf.
__device__ __forceinline__ void store_output(const FcAttentionParams& p, const CtaCoord& cta, const LaneCoord& me,
                                             unsigned char* smem, OAcc& o_acc, const RowStat& m_log2,
                                             const RowStat& row_sum) {
#pragma unroll
    for (int mt = 0; mt < kMTiles; ++mt)
#pragma unroll
        for (int hf = 0; hf < 2; ++hf) {
            const float l = row_sum[mt][hf];
            const float inv = softmax::normalizer(l);
#pragma unroll
            for (int dt = 0; dt < kDTiles; ++dt) {
                o_acc[mt][dt][2 * hf] *= inv;
                o_acc[mt][dt][2 * hf + 1] *= inv;
            }
            const int row = cta.q0 + me.warp_row0 + mt * 16 + hf * 8 + me.g;
            if constexpr (kPackGqa) {
                if (p.lse != nullptr && me.tq == 0 && row < rows_per_head(p)) {
                    const int pos = row / group_size(p);
                    const int h = cta.h * group_size(p) + (row - pos * group_size(p));
                    p.lse[(static_cast<long long>(cta.b) * p.Hq + h) * p.Sq + pos] =
                        softmax::lse_approx(m_log2[mt][hf], l);
                }
            } else {
                if (p.lse != nullptr && me.tq == 0 && row < p.Sq)
                    p.lse[(static_cast<long long>(cta.b) * p.Hq + cta.h) * p.Sq + row] =
                        softmax::lse_approx(m_log2[mt][hf], l);
            }
        }

    // Only this warp ever read its Q rows, so a warp barrier is enough before reusing them.
    __syncwarp();
#pragma unroll
    for (int mt = 0; mt < kMTiles; ++mt)
#pragma unroll
        for (int hf = 0; hf < 2; ++hf) {
            // Row g (+8) of the m-tile, chunk 0, plus this lane's 4-byte column pair.
            const unsigned row_addr =
                swizzle::offset<kRowBytes>(me.warp_row0 + mt * 16 + hf * 8 + me.g, 0) + me.tq * 4;
#pragma unroll
            for (int dt = 0; dt < kDTiles; ++dt) {
                const unsigned packed = mma::pack2<kBf16>(o_acc[mt][dt][2 * hf], o_acc[mt][dt][2 * hf + 1]);
                smem::store_u32(smem + swizzle::chunk_addr(row_addr, dt), packed);
            }
        }
    __syncwarp();
    constexpr int kStoreIters = kRowsPerWarp * kChunks / 32;
    if constexpr (kPackGqa) {
        // Row r: position (q0 + r) / G of query head h * G + (q0 + r) % G.
        const int group = group_size(p), rows = rows_per_head(p);
        elem_t* o_batch = static_cast<elem_t*>(p.o) + cta.b * p.o_stride[0];
#pragma unroll
        for (int i = 0; i < kStoreIters; ++i) {
            const int idx = i * 32 + me.lane;
            const int row = me.warp_row0 + idx / kChunks;
            const int chunk = idx % kChunks;
            const int packed = cta.q0 + row;
            if (packed < rows && chunk < kValidChunks) {
                const int pos = packed / group;
                const uint4 v = smem::load_u128(smem + swizzle::offset<kRowBytes>(row, chunk));
                *reinterpret_cast<uint4*>(o_batch + (cta.h * group + (packed - pos * group)) * p.o_stride[1] +
                                          pos * p.o_stride[2] + chunk * 8) = v;
            }
        }
    } else {
        elem_t* o_tile =
            static_cast<elem_t*>(p.o) + cta.b * p.o_stride[0] + cta.h * p.o_stride[1] + cta.q0 * p.o_stride[2];
#pragma unroll
        for (int i = 0; i < kStoreIters; ++i) {
            const int idx = i * 32 + me.lane;
            const int row = me.warp_row0 + idx / kChunks;
            const int chunk = idx % kChunks;
            if (cta.q0 + row < p.Sq && (kValidChunks == kChunks || chunk < kValidChunks)) {
                const uint4 v = smem::load_u128(smem + swizzle::offset<kRowBytes>(row, chunk));
                *reinterpret_cast<uint4*>(o_tile + row * p.o_stride[2] + chunk * 8) = v;
            }
        }
    }
}

}  // namespace attention_mma
}  // namespace fc
