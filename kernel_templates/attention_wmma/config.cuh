// attention_wmma: the variant's constants, the shared-memory layout, the per-CTA context and
// small helpers. Sizes come from the rendered prelude (the schema derives pitches, region
// sizes and fragment counts once and checks its constraints before anything is rendered); the
// asserts here are the invariants the schema does not state (WMMA alignment).
#pragma once
#include "common/attention_mask.cuh"
#include "common/attention_params.h"
#include "common/dtype.cuh"
#include "common/numeric.cuh"
#include "common/tile_copy.cuh"

namespace fc {
namespace attention_wmma {

constexpr int kBlockM = FC_BLOCK_M;
constexpr int kBlockN = FC_BLOCK_N;
constexpr int kWarps = FC_WARPS;
constexpr int kThreads = FC_THREADS;
constexpr int kHeadDim = FC_HEAD_DIM;
constexpr int kStages = FC_STAGES;
constexpr bool kCausal = FC_CAUSAL != 0;
constexpr int kCopy = FC_COPY == FC_COPY_SYNC       ? kCopySync
                      : FC_COPY == FC_COPY_PIPELINE ? kCopyPipeline
                                                    : kCopyMemcpyAsync;
constexpr bool kP16 = FC_P_DTYPE == FC_P_DTYPE_F16;

constexpr int kWarpSize = 32;
constexpr int kFrag = 16;  // WMMA m = n = k = 16
constexpr int kFragsM = kBlockM / kFrag;
constexpr int kFragsN = kBlockN / kFrag;
constexpr int kFragsD = kHeadDim / kFrag;
constexpr int kSFrags = FC_S_FRAGS;  // 16x16 fragments of the S tile
constexpr int kOFrags = FC_O_FRAGS;  // 16x16 fragments of the O tile
constexpr int kKeysPerLane = kBlockN / kWarpSize;

static_assert(sizeof(elem_t) == 2, "attention_wmma multiplies 16-bit elements (dtype f16 or bf16)");

// ---- shared-memory layout (bytes; every region starts 32-byte aligned for WMMA) --------------
// [ Q ][ stages x K ][ stages x V ][ S (fp32; P aliases it) ][ O (fp32) ][ m ][ l ]: pitches
// and region sizes are the schema's (ld_* pad rows by 16 B so they rotate over the banks).
constexpr int kLdQ = FC_LD_Q;    // Q row pitch, elements
constexpr int kLdKV = FC_LD_KV;  // K and V row pitch, elements
constexpr int kLdS = FC_LD_S;    // S row pitch, floats
[[maybe_unused]] constexpr int kLdP = 2 * kLdS;  // P (half, p_dtype=f16) pitch, elements: P aliases S rows
constexpr int kLdO = FC_LD_O;    // O row pitch, floats

constexpr int kBytesKV = FC_SMEM_KV_TILE;  // one K (or V) buffer
constexpr int kOffQ = 0;
constexpr int kOffK = kOffQ + FC_SMEM_Q;
constexpr int kOffV = kOffK + kStages * kBytesKV;
constexpr int kOffS = kOffK + FC_SMEM_KV;
constexpr int kOffO = kOffS + FC_SMEM_S;
constexpr int kOffM = kOffO + FC_SMEM_O;    // running max per row (float)
constexpr int kOffL = kOffM + kBlockM * 4;  // running sum per row (float)
static_assert(kOffK % 32 == 0 && kOffV % 32 == 0 && kOffS % 32 == 0 && kOffO % 32 == 0 && kOffM % 32 == 0 &&
                  kBytesKV % 32 == 0,
              "WMMA tiles need 32-byte aligned shared-memory regions");
static_assert((kLdQ * 2) % 16 == 0 && (kLdS * 4) % 16 == 0 && (kLdO * 4) % 16 == 0,
              "WMMA ldm must be a multiple of 16 bytes");

enum Pass : int {
    kPassFull = 0,    // softmax + P.V (production)
    kPassStats = 1,   // softmax only: final m and l per row (stage=softmax, first pass)
    kPassScores = 2,  // dump S (stage=qk)
    kPassProbs = 3,   // dump normalized P with the final m and l (stage=softmax, second pass)
};

struct Ctx {
    elem_t* q;  // shared tiles
    elem_t* k;
    elem_t* v;
    float* s;
    float* o;
    float* m;
    float* l;
    const elem_t* k_head;  // global K/V of this (batch, kv head)
    const elem_t* v_head;
    long long k_stride;  // row strides, elements
    long long v_stride;
    bool kv_aligned;
    int q0;       // first query row of the CTA
    int n_tiles;  // K/V tiles visited
    long long debug_row0;  // index of (b, h, q0, 0) in p.debug
};

__device__ __forceinline__ int warp_id() { return static_cast<int>(threadIdx.x) / kWarpSize; }
__device__ __forceinline__ int lane_id() { return static_cast<int>(threadIdx.x) % kWarpSize; }

// Keys 0 .. result-1 are visible to query row i (0 for rows past the end).
__device__ __forceinline__ int row_keys(const FcAttentionParams& p, int i) {
    if (i >= p.Sq) return 0;
    return kCausal ? visible_keys(p, i) : p.Skv;
}

__device__ __forceinline__ unsigned pack2(float a, float b) {
    return static_cast<unsigned>(elem_bits(from_float<elem_t>(a))) |
           (static_cast<unsigned>(elem_bits(from_float<elem_t>(b))) << 16);
}

// P as the kernel multiplies it: rounded to half for p_dtype=f16, untouched for f32.
__device__ __forceinline__ float round_p(float x) {
    if constexpr (kP16) return __half2float(__float2half_rn(x));
    return x;
}

}  // namespace attention_wmma
}  // namespace fc
