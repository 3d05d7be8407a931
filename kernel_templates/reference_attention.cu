// Reference attention forward: deliberately plain, the yardstick for every fast template.
// One warp per query row, exact two-pass softmax in fp32 (max first, then sum and P.V),
// reading K and V straight from global memory. Correct for any B, Hq, Hkv (Hq % Hkv == 0),
// Sq, Skv >= 1 and D <= 256; not fast, and not meant to be.
#include "common/attention_params.h"
#include "common/attention_mask.cuh"
#include "common/numeric.cuh"
#include "common/dtype.cuh"
#include "common/softmax.cuh"

namespace fc {

constexpr int kWarpSize = 32;
constexpr int kRowsPerBlock = FC_ROWS_PER_BLOCK;  // one warp per query row (threads = 32 x this)
constexpr int kMaxDimPerLane = FC_MAX_HEAD_DIM / kWarpSize;  // lane owns dims lane, lane+32, ...
static_assert(FC_MAX_HEAD_DIM % kWarpSize == 0, "head-dim capacity must be whole warps");

__device__ float scaled_score(const FcAttentionParams& p, const float (&q)[kMaxDimPerLane],
                              const elem_t* k_row, int lane) {
    float partial = 0.f;
#pragma unroll
    for (int t = 0; t < kMaxDimPerLane; ++t) {
        int d = lane + t * kWarpSize;
        if (d < p.D) partial += q[t] * to_float(k_row[d]);
    }
    return softmax::warp_sum(partial) * p.scale;
}

__global__ void __launch_bounds__(FC_THREADS)
reference_attention_fwd(const FcAttentionParams p) {
    const int lane = threadIdx.x % kWarpSize;
    const int i = blockIdx.x * kRowsPerBlock + threadIdx.x / kWarpSize;
    const int h = blockIdx.y;
    const int b = blockIdx.z;
    if (i >= p.Sq) return;  // whole warp leaves together: i is uniform per warp

    const int hk = kv_head_of(p, h);
    const elem_t* q_row = static_cast<const elem_t*>(p.q) + b * p.q_stride[0] + h * p.q_stride[1] + i * p.q_stride[2];
    const elem_t* k_head = static_cast<const elem_t*>(p.k) + b * p.k_stride[0] + hk * p.k_stride[1];
    const elem_t* v_head = static_cast<const elem_t*>(p.v) + b * p.v_stride[0] + hk * p.v_stride[1];
    elem_t* o_row = static_cast<elem_t*>(p.o) + b * p.o_stride[0] + h * p.o_stride[1] + i * p.o_stride[2];

    float q[kMaxDimPerLane];
#pragma unroll
    for (int t = 0; t < kMaxDimPerLane; ++t) {
        int d = lane + t * kWarpSize;
        q[t] = d < p.D ? to_float(q_row[d]) : 0.f;
    }

    const int keys = visible_keys(p, i);
    float row_max = neg_inf();
    for (int j = 0; j < keys; ++j)
        row_max = fmaxf(row_max, scaled_score(p, q, k_head + j * p.k_stride[2], lane));

    float row_sum = 0.f;
    float acc[kMaxDimPerLane] = {};
    for (int j = 0; j < keys; ++j) {
        float weight = expf(scaled_score(p, q, k_head + j * p.k_stride[2], lane) - row_max);
        row_sum += weight;
        const elem_t* v_row = v_head + j * p.v_stride[2];
#pragma unroll
        for (int t = 0; t < kMaxDimPerLane; ++t) {
            int d = lane + t * kWarpSize;
            if (d < p.D) acc[t] += weight * to_float(v_row[d]);
        }
    }

    // A row that sees no key gets O = 0 and lse = -inf (FlashAttention's convention).
    const float inv_sum = keys > 0 ? 1.f / row_sum : 0.f;
#pragma unroll
    for (int t = 0; t < kMaxDimPerLane; ++t) {
        int d = lane + t * kWarpSize;
        if (d < p.D) o_row[d] = from_float<elem_t>(acc[t] * inv_sum);
    }
    if (p.lse != nullptr && lane == 0) {
        long long row = (static_cast<long long>(b) * p.Hq + h) * p.Sq + i;
        p.lse[row] = keys > 0 ? row_max + logf(row_sum) : neg_inf();
    }
}

}  // namespace fc
