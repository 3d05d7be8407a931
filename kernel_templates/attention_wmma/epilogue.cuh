// attention_wmma: the output of the CTA (stage=full): O / l as dtype, 8 elements per 16-byte
// store (element stores where o or its row stride is not 16-byte aligned). The LSE store stays
// in the kernel: as part of this function its loop compiled differently (1 catalogue variant).
#pragma once
#include "common/attention_params.h"
#include "common/numeric.cuh"
#include "common/softmax.cuh"
#include "common/tile_copy.cuh"
#include "attention_wmma/config.cuh"

namespace fc {
namespace attention_wmma {

// Rows [q0, q0 + rows_q) of (batch b, query head h).
__device__ __forceinline__ void store_output(const FcAttentionParams& p, const Ctx& c, int b, int h, int q0,
                                             int rows_q) {
    elem_t* o_tile = static_cast<elem_t*>(p.o) + b * p.o_stride[0] + h * p.o_stride[1] +
                     static_cast<long long>(q0) * p.o_stride[2];
    const long long o_stride = p.o_stride[2];
    const bool o_aligned = is_aligned16(o_tile, o_stride * 2);
    constexpr int kChunksPerRow = kHeadDim / 8;
#pragma unroll 1
    for (int idx = threadIdx.x; idx < rows_q * kChunksPerRow; idx += kThreads) {
        const int r = idx / kChunksPerRow;
        const int col = (idx % kChunksPerRow) * 8;
        const float inv_l = softmax::normalizer(c.l[r]);  // no visible key: O = 0
        const float4* src = reinterpret_cast<const float4*>(c.o + r * kLdO + col);
        const float4 x = src[0], y = src[1];
        elem_t* dst = o_tile + r * o_stride + col;
        if (o_aligned) {
            *reinterpret_cast<uint4*>(dst) = make_uint4(pack2(x.x * inv_l, x.y * inv_l), pack2(x.z * inv_l, x.w * inv_l),
                                                        pack2(y.x * inv_l, y.y * inv_l), pack2(y.z * inv_l, y.w * inv_l));
        } else {
            const float v[8] = {x.x, x.y, x.z, x.w, y.x, y.y, y.z, y.w};
#pragma unroll
            for (int e = 0; e < 8; ++e) dst[e] = from_float<elem_t>(v[e] * inv_l);
        }
    }
}

}  // namespace attention_wmma
}  // namespace fc
