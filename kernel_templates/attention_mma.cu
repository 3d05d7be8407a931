// FlashAttention-2-class forward on mma.sync (sm_80+).
//
// One CTA computes a block_m x head_dim tile of O for one (batch, query head), or with
// splits > 1 one contiguous share of that tile's K/V tiles. Each warp owns 16 or 32 query
// rows (one or two m16 MMA tiles) across its K/V sweep, so softmax statistics never
// leave registers: S = Q.K^T accumulates in mma C fragments, is masked, exponentiated and
// rounded in place, and the C fragments of S become the A fragments of P.V without touching
// shared memory. K and V stream through a `stages`-deep ring of XOR-swizzled shared tiles
// filled by 16-byte cp.async (zero-filled past Skv); ldmatrix reads them conflict-free.
// With kv_warps > 1 the warps form row_warps x kv_warps: the kv_warps groups that share the
// same query rows take interleaved K/V tiles of the CTA, each group with its own ring and its
// own group barrier (no CTA barrier in the K/V loop), and combine their partial softmax
// states through shared memory at the end.
// docs/attention_mma.md describes layouts, pipeline, the kv-warp and the split-KV combines.
#include "common/attention_params.h"
#include "common/attention_mask.cuh"
#include "common/numeric.cuh"
#include "common/mma_sm80.cuh"
#include "common/mma_cp_async.cuh"
#include "common/mma_swizzle.cuh"
#include "common/mma_softmax.cuh"
#include "common/mma_split_kv.cuh"
#include "common/mma_sreg.cuh"
#include "common/mma_barrier.cuh"
#include "common/mma_smem.cuh"

#if FC_DTYPE == FC_DTYPE_F16
using elem_t = __half;
#elif FC_DTYPE == FC_DTYPE_BF16
using elem_t = __nv_bfloat16;
#else
#error "attention_mma supports dtype f16 and bf16 only"
#endif

namespace fc {
namespace attention_mma {

constexpr bool kBf16 = FC_DTYPE == FC_DTYPE_BF16;
constexpr bool kCausal = FC_CAUSAL != 0;
constexpr bool kQInRegs = FC_Q_IN_REGS != 0;
constexpr int kBlockM = FC_BLOCK_M;
constexpr int kBlockN = FC_BLOCK_N;
constexpr int kWarps = FC_WARPS;
constexpr int kKvWarps = FC_KV_WARPS;          // warp groups that split the K/V tiles
constexpr int kRowWarps = kWarps / kKvWarps;   // warps that split the query rows
constexpr int kGroupThreads = kRowWarps * 32;  // threads of one kv group (they share a K/V ring)
constexpr int kThreads = FC_THREADS;
constexpr int kStages = FC_STAGES;
constexpr int kSplits = FC_SPLITS;
constexpr int kD = FC_HEAD_DIM;

constexpr int kRowsPerWarp = kBlockM / kRowWarps;
constexpr int kMTiles = kRowsPerWarp / 16;     // m16 MMA tiles per warp
constexpr int kNTiles = kBlockN / 8;           // n8 tiles of S per m-tile
constexpr int kKSteps = kD / 16;               // k16 steps of Q.K^T
constexpr int kDTiles = kD / 8;                // n8 tiles of O per m-tile
constexpr int kPSteps = kBlockN / 16;          // k16 steps of P.V
constexpr int kRowBytes = kD * 2;              // one 16-bit row of Q, K, V or O in shared memory
constexpr int kChunks = kRowBytes / 16;        // 16-byte chunks per row

constexpr int kQBytes = kBlockM * kRowBytes;
constexpr int kKVTileBytes = kBlockN * kRowBytes;
// Split-KV partials (global) and kv-warp partials (shared), per CTA: for each (row warp,
// m-tile), kDTiles float4 of O accumulators plus one float4 of row statistics
// {m_lo, m_hi, l_lo, l_hi}, each stored lane-interleaved.
constexpr int kPartialFloat4 = (kBlockM / 16) * 32 * (kDTiles + 1);
constexpr int kPartialBytes = kPartialFloat4 * 16;
// Shared memory: [ Q tile ][ slot of kv group 0 ] ... [ slot of kv group kv_warps-1 ]. A slot
// is the group's K ring (stages tiles) then its V ring; with kv_warps > 1, groups 1.. reuse
// their slot for their partial after the K/V loop, so a slot is at least kPartialBytes.
constexpr int kRingBytes = 2 * kStages * kKVTileBytes;
constexpr int kSlotBytes = kKvWarps == 1 || kRingBytes >= kPartialBytes ? kRingBytes : kPartialBytes;
constexpr int kKOffset = kQBytes;
constexpr int kVOffset = kQBytes + kStages * kKVTileBytes;
constexpr int kSmemBytes = kQBytes + kKvWarps * kSlotBytes;

static_assert(FC_THREADS == kWarps * 32, "threads is warps * 32");
static_assert(FC_OCCUPANCY >= 1 && FC_REG_CAP == (65536 / (kThreads * FC_OCCUPANCY) / 8 * 8 < 255 ? 65536 / (kThreads * FC_OCCUPANCY) / 8 * 8 : 255),
              "reg_cap is the register limit __launch_bounds__(threads, occupancy) implies");
static_assert(FC_ROWS_PER_WARP == kRowsPerWarp && FC_M_TILES == kMTiles && FC_ROW_WARPS == kRowWarps,
              "schema and template disagree on the warp tiling");
static_assert(kKvWarps >= 1 && kRowWarps * kKvWarps == kWarps, "warps = row_warps * kv_warps");
static_assert(kKvWarps == 1 || kKvWarps + 1 <= 16, "kv group barriers use named barriers 1..kv_warps");
static_assert(kBlockM % kRowWarps == 0 && (kRowsPerWarp == 16 || kRowsPerWarp == 32),
              "each warp owns one or two m16 tiles (block_m / row_warps is 16 or 32)");
static_assert(kBlockN % 16 == 0, "block_n must be a multiple of 16 (k16 steps of P.V)");
static_assert(kD == 64 || kD == 128 || kD == 256, "head_dim rows must be whole 128-byte swizzle spans");
static_assert(kStages >= 1 && kStages <= 4, "stages is 1..4");
static_assert(FC_PARTIAL_BYTES == kPartialBytes, "schema partial_bytes must match the partial layout");
static_assert(FC_KV_SLOT_BYTES == kSlotBytes,
              "schema kv_slot_bytes must be one kv group's K+V ring (or its partial, if larger)");
static_assert(FC_SMEM_BYTES == kSmemBytes,
              "schema smem_bytes must equal Q tile + kv_warps * slot (slot = stages * (K tile + V tile))");
static_assert(kSlotBytes % 128 == 0 && kQBytes % 128 == 0, "tiles start on 128-byte swizzle spans");
static_assert((kBlockN * kChunks) % kGroupThreads == 0, "K/V tiles must split evenly into 16-byte copies per group thread");
static_assert((kRowsPerWarp * kChunks) % 32 == 0, "O staging must split evenly over a warp");

// Copy rows [0, kRows) of a row-major global tile (16-bit elements, `row_stride` elements
// between rows) into a swizzled shared tile with kNThreads threads (`tid` in 0..kNThreads-1).
// Rows >= rows_valid are zero-filled, not read. A tile with fewer 16-byte chunks than threads
// (a small Q tile of a large CTA) leaves the surplus threads idle.
template <int kRows, int kNThreads>
__device__ __forceinline__ void load_tile(unsigned smem_tile, const elem_t* gtile, long long row_stride,
                                          int rows_valid, const elem_t* safe_src, int tid) {
    constexpr int kTotal = kRows * kChunks;
    constexpr int kRowStep = kNThreads / kChunks;
    constexpr int kIters = kTotal >= kNThreads ? kTotal / kNThreads : 1;
    static_assert(kNThreads % kChunks == 0, "a thread keeps one chunk column across the tile");
    static_assert(kTotal % kNThreads == 0 || kTotal < kNThreads, "tiles split evenly into 16-byte copies per thread");
    if (kTotal < kNThreads && tid >= kTotal) return;
    const int chunk = tid % kChunks;
    const int row0 = tid / kChunks;
    if constexpr ((kKvWarps > 1 || kWarps < 4) && kRowStep < 8 && kIters >= 8 / kRowStep) {
        // Small loaders (one kv group's warps, or a CTA of one or two warps): many copies per
        // thread, so the addressing matters. Visit each thread's rows grouped by row mod 8,
        // so within a group the swizzled chunk is fixed and every further row (8 apart) is an
        // immediate offset of the shared address and a constant step of the global one.
        // A tile wholly inside the tensor (all but the last) skips the per-row checks.
        constexpr int kResidues = 8 / kRowStep;
        constexpr int kPerResidue = kIters / kResidues;
        static_assert(kIters % kResidues == 0, "rows split evenly over the residues");
        const bool full = rows_valid >= kRows;
#pragma unroll
        for (int r = 0; r < kResidues; ++r) {
            const int row_r = row0 + r * kRowStep;
            const elem_t* src = gtile + row_r * row_stride + chunk * 8;
            const unsigned dst = smem_tile + swizzle::offset<kRowBytes>(row_r, chunk);
            if (full) {
#pragma unroll
                for (int j = 0; j < kPerResidue; ++j) {
                    cp_async::copy16_zfill(dst + j * 8 * kRowBytes, src, true);
                    src += 8 * row_stride;
                }
            } else {
#pragma unroll
                for (int j = 0; j < kPerResidue; ++j) {
                    const bool valid = row_r + 8 * j < rows_valid;
                    cp_async::copy16_zfill(dst + j * 8 * kRowBytes, valid ? src : safe_src, valid);
                    src += 8 * row_stride;
                }
            }
        }
    } else {
        const elem_t* src = gtile + row0 * row_stride + chunk * 8;
        const long long step = kRowStep * row_stride;
#pragma unroll
        for (int i = 0; i < kIters; ++i) {
            const int row = row0 + i * kRowStep;
            const bool valid = row < rows_valid;
            cp_async::copy16_zfill(smem_tile + swizzle::offset<kRowBytes>(row, chunk), valid ? src : safe_src, valid);
            src += step;
        }
    }
}

__device__ __forceinline__ float4 load_cg(const float4* ptr) { return __ldcg(ptr); }

// Where a CTA works: its query tile, its share of the K/V tiles, head and batch.
struct CtaCoord {
    int n_qtiles, qtile, split, h, b, q0;
};
__device__ __forceinline__ CtaCoord cta_coord(const FcAttentionParams& p, int ctaid_x, int ctaid_y, int ctaid_z) {
    CtaCoord c;
    c.n_qtiles = (p.Sq + kBlockM - 1) / kBlockM;
    c.split = ctaid_x % kSplits;
    c.qtile = ctaid_x / kSplits;
    if (kCausal) c.qtile = c.n_qtiles - 1 - c.qtile;  // most K/V tiles first: shorter tail
    c.h = ctaid_y;
    c.b = ctaid_z;
    c.q0 = c.qtile * kBlockM;
    return c;
}

// Which accumulator rows and columns a lane holds: rows warp_row0 + 16*mt + g (+8), columns
// 8*tile + 2*tq (+1). Warp = kw * row_warps + rw: row warp rw owns rows
// [rw * rows_per_warp, +rows_per_warp), kv group kw (warps kw*row_warps ..) its share of tiles.
struct LaneCoord {
    int warp, lane, g, tq, rw, kw, warp_row0;
};
__device__ __forceinline__ LaneCoord lane_coord(int tid) {
    LaneCoord c;
    c.warp = tid >> 5;
    c.lane = tid & 31;
    c.g = c.lane >> 2;
    c.tq = c.lane & 3;
    if constexpr (kKvWarps == 1) {
        c.rw = c.warp;
        c.kw = 0;
    } else {
        c.rw = c.warp % kRowWarps;
        c.kw = c.warp / kRowWarps;
    }
    c.warp_row0 = c.rw * kRowsPerWarp;
    return c;
}

// Barrier of the threads that share one K/V ring: the whole CTA (kv_warps = 1), the warp
// itself (one row warp per group) or the group's warps on named barrier 1 + kw.
__device__ __forceinline__ void group_sync(int kw) {
    if constexpr (kKvWarps == 1) {
        __syncthreads();
    } else if constexpr (kRowWarps == 1) {
        __syncwarp();
    } else {
        barrier::named_sync(1 + kw, kGroupThreads);
    }
}

using OAcc = float[kMTiles][kDTiles][4];
using RowStat = float[kMTiles][2];

#if FC_SPLITS > 1
// Split-KV: publish this CTA's partial (unnormalized O, row max in the log2 domain, row sum);
// the last CTA of the tile to arrive folds all partials into o_acc / m_log2 / row_sum and
// returns true, the others return false.
// With kv_warps > 1 only the leader warps (kv group 0, which hold the CTA's combined state)
// publish and combine; every thread takes part in the arrival barriers.
__device__ __forceinline__ bool combine_splits(const FcAttentionParams& p, const CtaCoord& cta, const LaneCoord& me,
                                               bool leader, OAcc& o_acc, RowStat& m_log2, RowStat& row_sum) {
    const long long tile_id = (static_cast<long long>(cta.b) * p.Hq + cta.h) * cta.n_qtiles + cta.qtile;
    const long long counters_bytes = ((static_cast<long long>(p.B) * p.Hq * cta.n_qtiles * 4 + 255) / 256) * 256;
    float4* tile_part = reinterpret_cast<float4*>(static_cast<unsigned char*>(p.workspace) + counters_bytes) +
                        tile_id * kSplits * kPartialFloat4;
    // (row warp, m-tile, d-tile) blocks of 32 lane-interleaved float4; d-tile kDTiles holds the statistics.
    const int warp_part = me.rw * kMTiles * (kDTiles + 1) * 32 + me.lane;
    if (kKvWarps == 1 || leader) {
        float4* mine = tile_part + cta.split * kPartialFloat4 + warp_part;
#pragma unroll
        for (int mt = 0; mt < kMTiles; ++mt) {
#pragma unroll
            for (int dt = 0; dt < kDTiles; ++dt)
                mine[(mt * (kDTiles + 1) + dt) * 32] =
                    make_float4(o_acc[mt][dt][0], o_acc[mt][dt][1], o_acc[mt][dt][2], o_acc[mt][dt][3]);
            mine[(mt * (kDTiles + 1) + kDTiles) * 32] =
                make_float4(m_log2[mt][0], m_log2[mt][1], row_sum[mt][0], row_sum[mt][1]);
        }
    }
    int* counter = static_cast<int*>(p.workspace) + tile_id;
    if (!split_kv::arrive_is_last(counter, kSplits)) return false;
    if (kKvWarps > 1 && !leader) return false;

    // Combine in a fixed order (split 0, 1, ...) whichever CTA arrived last, so the result
    // is bitwise reproducible: first the row max over all splits, then the weighted sums.
    // The own partial is read back too (this thread wrote exactly those words), which frees
    // o_acc / row_sum to hold the combination. Empty splits carry m = -inf, l = 0, O = 0.
    const float4* parts = tile_part + warp_part;
#pragma unroll
    for (int mt = 0; mt < kMTiles; ++mt)
#pragma unroll
        for (int hf = 0; hf < 2; ++hf) {
            m_log2[mt][hf] = neg_inf();
            row_sum[mt][hf] = 0.f;
        }
    // Rolled loops over splits: unrolled, ptxas hoists every split's loads at once and spills
    // under an occupancy register cap (measured: 312 B at splits=3, 168 registers).
#pragma unroll 1
    for (int s = 0; s < kSplits; ++s)
#pragma unroll
        for (int mt = 0; mt < kMTiles; ++mt) {
            const float4 st = load_cg(parts + s * kPartialFloat4 + (mt * (kDTiles + 1) + kDTiles) * 32);
            m_log2[mt][0] = fmaxf(m_log2[mt][0], st.x);
            m_log2[mt][1] = fmaxf(m_log2[mt][1], st.y);
        }
#pragma unroll
    for (int mt = 0; mt < kMTiles; ++mt)
#pragma unroll
        for (int dt = 0; dt < kDTiles; ++dt)
#pragma unroll
            for (int e = 0; e < 4; ++e) o_acc[mt][dt][e] = 0.f;
#pragma unroll 1
    for (int s = 0; s < kSplits; ++s)
#pragma unroll
        for (int mt = 0; mt < kMTiles; ++mt) {
            const float4* part = parts + s * kPartialFloat4 + mt * (kDTiles + 1) * 32;
            const float4 st = load_cg(part + kDTiles * 32);
            // Reference 0 when every split of the row is empty: ex2(-inf) = 0 weights.
            const float w0 = softmax::fast_exp2(st.x - (m_log2[mt][0] == neg_inf() ? 0.f : m_log2[mt][0]));
            const float w1 = softmax::fast_exp2(st.y - (m_log2[mt][1] == neg_inf() ? 0.f : m_log2[mt][1]));
            row_sum[mt][0] = fmaf(st.z, w0, row_sum[mt][0]);
            row_sum[mt][1] = fmaf(st.w, w1, row_sum[mt][1]);
#pragma unroll
            for (int dt = 0; dt < kDTiles; ++dt) {
                const float4 ov = load_cg(part + dt * 32);
                o_acc[mt][dt][0] = fmaf(ov.x, w0, o_acc[mt][dt][0]);
                o_acc[mt][dt][1] = fmaf(ov.y, w0, o_acc[mt][dt][1]);
                o_acc[mt][dt][2] = fmaf(ov.z, w1, o_acc[mt][dt][2]);
                o_acc[mt][dt][3] = fmaf(ov.w, w1, o_acc[mt][dt][3]);
            }
        }
    return true;
}
#endif

#if FC_KV_WARPS > 1
// kv-warp combine (in shared memory, no global round trip): every kv group but 0 writes its
// warps' partials (unnormalized O, row max in the log2 domain, full row sum) into its own ring
// slot, which nobody needs once the group has passed its barrier; after a CTA barrier each warp
// of group 0 folds the partials of its rows into its registers in a fixed order (its own
// state, then groups 1, 2, ...), so results are bitwise reproducible. A group that saw no key
// of a row (causal, short Skv, fewer tiles than groups) carries m = -inf, l = 0, O = 0.
// Returns true in the warps of group 0, which now hold the CTA's state.
__device__ __forceinline__ bool combine_kv_warps(unsigned char* smem, const LaneCoord& me, OAcc& o_acc, RowStat& m_log2,
                                                 RowStat& row_sum) {
    // Float4 index of this lane's (row warp, m-tile 0, d-tile 0) entry within a slot.
    const int part = me.rw * kMTiles * (kDTiles + 1) * 32 + me.lane;
    unsigned char* const slots = smem + kQBytes;
    // Every group is done with its ring. A CTA barrier rather than each group's own: group 0
    // waits at the next one anyway, and compute-sanitizer's racecheck flagged the partial
    // stores after a named group barrier (bar.sync 1+kw, n) as racing with group 0's reads
    // behind the CTA barrier below (H100, CUDA 13.0; row_warps > 1 only).
    __syncthreads();
    if (me.kw != 0) {
        unsigned char* mine = slots + me.kw * kSlotBytes + part * 16;
#pragma unroll
        for (int mt = 0; mt < kMTiles; ++mt) {
#pragma unroll
            for (int dt = 0; dt < kDTiles; ++dt)
                smem::store_f32x4(mine + (mt * (kDTiles + 1) + dt) * 32 * 16,
                                  make_float4(o_acc[mt][dt][0], o_acc[mt][dt][1], o_acc[mt][dt][2], o_acc[mt][dt][3]));
            smem::store_f32x4(mine + (mt * (kDTiles + 1) + kDTiles) * 32 * 16,
                              make_float4(m_log2[mt][0], m_log2[mt][1], row_sum[mt][0], row_sum[mt][1]));
        }
    }
    __syncthreads();
    if (me.kw != 0) return false;

    float m_all[kMTiles][2];
#pragma unroll
    for (int mt = 0; mt < kMTiles; ++mt) {
        m_all[mt][0] = m_log2[mt][0];
        m_all[mt][1] = m_log2[mt][1];
    }
#pragma unroll 1
    for (int k = 1; k < kKvWarps; ++k)
#pragma unroll
        for (int mt = 0; mt < kMTiles; ++mt) {
            const float4 st = smem::load_f32x4(slots + k * kSlotBytes + (part + (mt * (kDTiles + 1) + kDTiles) * 32) * 16);
            m_all[mt][0] = fmaxf(m_all[mt][0], st.x);
            m_all[mt][1] = fmaxf(m_all[mt][1], st.y);
        }
    // Weights 2^(m_k - M), against a reference of 0 when no group saw a key of the row (then
    // every m_k is -inf and every weight ex2(-inf) = 0).
#pragma unroll
    for (int mt = 0; mt < kMTiles; ++mt)
#pragma unroll
        for (int hf = 0; hf < 2; ++hf) {
            const float w = softmax::fast_exp2(m_log2[mt][hf] - (m_all[mt][hf] == neg_inf() ? 0.f : m_all[mt][hf]));
            m_log2[mt][hf] = m_all[mt][hf];
            row_sum[mt][hf] *= w;
#pragma unroll
            for (int dt = 0; dt < kDTiles; ++dt) {
                o_acc[mt][dt][2 * hf] *= w;
                o_acc[mt][dt][2 * hf + 1] *= w;
            }
        }
#pragma unroll 1
    for (int k = 1; k < kKvWarps; ++k)
#pragma unroll
        for (int mt = 0; mt < kMTiles; ++mt) {
            const unsigned char* part_k = slots + k * kSlotBytes + (part + mt * (kDTiles + 1) * 32) * 16;
            const float4 st = smem::load_f32x4(part_k + kDTiles * 32 * 16);
            const float w0 = softmax::fast_exp2(st.x - (m_log2[mt][0] == neg_inf() ? 0.f : m_log2[mt][0]));
            const float w1 = softmax::fast_exp2(st.y - (m_log2[mt][1] == neg_inf() ? 0.f : m_log2[mt][1]));
            row_sum[mt][0] = fmaf(st.z, w0, row_sum[mt][0]);
            row_sum[mt][1] = fmaf(st.w, w1, row_sum[mt][1]);
#pragma unroll
            for (int dt = 0; dt < kDTiles; ++dt) {
                const float4 ov = smem::load_f32x4(part_k + dt * 32 * 16);
                o_acc[mt][dt][0] = fmaf(ov.x, w0, o_acc[mt][dt][0]);
                o_acc[mt][dt][1] = fmaf(ov.y, w0, o_acc[mt][dt][1]);
                o_acc[mt][dt][2] = fmaf(ov.z, w1, o_acc[mt][dt][2]);
                o_acc[mt][dt][3] = fmaf(ov.w, w1, o_acc[mt][dt][3]);
            }
        }
    return true;
}
#endif

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
            const float inv = l > 0.f ? 1.f / l : 0.f;
#pragma unroll
            for (int dt = 0; dt < kDTiles; ++dt) {
                o_acc[mt][dt][2 * hf] *= inv;
                o_acc[mt][dt][2 * hf + 1] *= inv;
            }
            const int row = cta.q0 + me.warp_row0 + mt * 16 + hf * 8 + me.g;
            if (p.lse != nullptr && me.tq == 0 && row < p.Sq) {
                const float lse = l > 0.f ? (m_log2[mt][hf] + __log2f(l)) * kLn2 : neg_inf();
                p.lse[(static_cast<long long>(cta.b) * p.Hq + cta.h) * p.Sq + row] = lse;
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
    elem_t* o_tile = static_cast<elem_t*>(p.o) + cta.b * p.o_stride[0] + cta.h * p.o_stride[1] + cta.q0 * p.o_stride[2];
    constexpr int kStoreIters = kRowsPerWarp * kChunks / 32;
#pragma unroll
    for (int i = 0; i < kStoreIters; ++i) {
        const int idx = i * 32 + me.lane;
        const int row = me.warp_row0 + idx / kChunks;
        const int chunk = idx % kChunks;
        if (cta.q0 + row < p.Sq) {
            const uint4 v = smem::load_u128(smem + swizzle::offset<kRowBytes>(row, chunk));
            *reinterpret_cast<uint4*>(o_tile + row * p.o_stride[2] + chunk * 8) = v;
        }
    }
}

__global__ void __launch_bounds__(kThreads, FC_OCCUPANCY) attention_mma_fwd(const FcAttentionParams p) {
#if FC_PDL && defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    // Programmatic dependent launch: this grid may be running before the previous kernel of the
    // stream has finished. Wait for it (and its writes) before the first global access; after
    // that, let the next kernel's CTAs be scheduled once ours have all started. Both are no-ops
    // for an ordinary launch.
    asm volatile("griddepcontrol.wait;" ::: "memory");
    asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
    extern __shared__ __align__(1024) unsigned char smem[];
    const unsigned smem_base = static_cast<unsigned>(__cvta_generic_to_shared(smem));
    // Offsets below are relative to `smem` (1024-aligned), so the XOR addressing of
    // common/mma_swizzle.cuh holds whatever the shared-window base; the base is added last.

    const int tid = threadIdx.x;
    const LaneCoord me = lane_coord(tid);
    const int lane = me.lane, g = me.g, tq = me.tq, warp_row0 = me.warp_row0;
    const CtaCoord cta = cta_coord(p, blockIdx.x, blockIdx.y, blockIdx.z);
    const int split = cta.split, h = cta.h, b = cta.b, q0 = cta.q0;
    const int hk = kv_head_of(p, h);
    const int q_last = min(q0 + kBlockM, p.Sq) - 1;

    // Keys any row of this tile can see: [0, kv_end). Tiles at or past mask_from hold a key
    // that some row of the tile must not see (causal diagonal or the Skv tail).
    const int kv_end = visible_keys(p, q_last);
    const int n_tiles = (kv_end + kBlockN - 1) / kBlockN;
    const int mask_from = visible_keys(p, q0) / kBlockN;
    const int per_split = (n_tiles + kSplits - 1) / kSplits;
    const int t_begin = min(split * per_split, n_tiles);
    const int t_end = min(t_begin + per_split, n_tiles);
    // kv group kw takes tiles t_begin + kw, + kv_warps, ... of the CTA's share (all of them
    // with kv_warps = 1) into its own ring, loaded by its own kGroupThreads threads.
    const int t_first = t_begin + me.kw;
    const unsigned ring = static_cast<unsigned>(me.kw * kSlotBytes);
    const int gid = tid - me.kw * kGroupThreads;

    const elem_t* q_tile = static_cast<const elem_t*>(p.q) + b * p.q_stride[0] + h * p.q_stride[1] + q0 * p.q_stride[2];
    const elem_t* k_head = static_cast<const elem_t*>(p.k) + b * p.k_stride[0] + hk * p.k_stride[1];
    const elem_t* v_head = static_cast<const elem_t*>(p.v) + b * p.v_stride[0] + hk * p.v_stride[1];
    const elem_t* safe_src = static_cast<const elem_t*>(p.k);

    // ---- per-lane ldmatrix addresses (see common/mma_swizzle.cuh) -----------------------
    // Q (A operand, non-trans): lanes 0-15 rows 0-15 of the m-tile at chunk 2kk, lanes 16-31
    // the same rows at chunk 2kk+1 -> registers a0..a3 in mma order.
    const unsigned q_lane = swizzle::offset<kRowBytes>(warp_row0 + (lane & 15), lane >> 4);
    // K (B operand of S, non-trans): matrix i = lane/8 is key rows (i/2)*8.. at chunk 2kk + i%2
    // -> b0,b1 of n-tile 2np then b0,b1 of n-tile 2np+1.
    const unsigned k_lane = ring + swizzle::offset<kRowBytes>(((lane >> 4) << 3) + (lane & 7), (lane >> 3) & 1);
    // V (B operand of O, .trans): matrix i is key rows (i%2)*8.. at chunk 2dp + i/2
    // -> b0,b1 of d-tile 2dp then b0,b1 of d-tile 2dp+1.
    const unsigned v_lane = ring + swizzle::offset<kRowBytes>(lane & 15, lane >> 4);

    float o_acc[kMTiles][kDTiles][4];
    float row_max[kMTiles][2];  // raw (unscaled) running max of q.k; -inf until a key is seen
    float row_sum[kMTiles][2];  // this lane's share of sum(exp2(s * scale_log2 - max * scale_log2))
#pragma unroll
    for (int mt = 0; mt < kMTiles; ++mt) {
#pragma unroll
        for (int dt = 0; dt < kDTiles; ++dt)
#pragma unroll
            for (int e = 0; e < 4; ++e) o_acc[mt][dt][e] = 0.f;
#pragma unroll
        for (int hf = 0; hf < 2; ++hf) {
            row_max[mt][hf] = neg_inf();
            row_sum[mt][hf] = 0.f;
        }
    }
    const float scale_log2 = p.scale_log2;

    if (t_begin < t_end) {
        // ---- prologue: Q, then K_0, (V_0, K_1), ..., (V_{S-2}, K_{S-1}) ------------------
        // (indices count the tiles of this kv group's sequence.) Per-thread group order is Q,
        // K_0, V_0, K_1, V_1, ...; with kv_warps = 1, at each wait below exactly 2*stages - 2
        // newer groups may still be in flight. With kv_warps > 1 the prologue also issues
        // V_{S-1} (both rings start full: a group with only a few tiles has all of them in
        // flight at once) and one more group may be in flight at the K wait. The whole CTA
        // loads Q; each kv group loads its own tiles.
        load_tile<kBlockM, kThreads>(smem_base, q_tile, p.q_stride[2], p.Sq - q0, safe_src, tid);
        cp_async::commit();
#pragma unroll
        for (int s = 0; s < kStages; ++s) {
            if (kKvWarps == 1 && s > 0) {
                const int tv = t_first + s * kKvWarps - kKvWarps;  // tile s-1 of the sequence
                if (tv < t_end)
                    load_tile<kBlockN, kGroupThreads>(smem_base + ring + kVOffset + (s - 1) * kKVTileBytes,
                                                      v_head + tv * kBlockN * p.v_stride[2], p.v_stride[2],
                                                      p.Skv - tv * kBlockN, safe_src, gid);
                cp_async::commit();
            }
            const int tk = t_first + s * kKvWarps;
            if (tk < t_end)
                load_tile<kBlockN, kGroupThreads>(smem_base + ring + kKOffset + s * kKVTileBytes,
                                                  k_head + tk * kBlockN * p.k_stride[2], p.k_stride[2],
                                                  p.Skv - tk * kBlockN, safe_src, gid);
            cp_async::commit();
            if (kKvWarps > 1) {
                if (tk < t_end)
                    load_tile<kBlockN, kGroupThreads>(smem_base + ring + kVOffset + s * kKVTileBytes,
                                                      v_head + tk * kBlockN * p.v_stride[2], p.v_stride[2],
                                                      p.Skv - tk * kBlockN, safe_src, gid);
                cp_async::commit();
            }
        }
        constexpr int kPendingAtK = kKvWarps == 1 ? 2 * kStages - 2 : 2 * kStages - 1;

        unsigned q_frag[kQInRegs ? kMTiles : 1][kQInRegs ? kKSteps : 1][4];
        // With kv_warps > 1 the loop's barriers are group barriers: Q (loaded by the whole
        // CTA) needs this one CTA barrier before any warp reads it.
        if constexpr (kQInRegs || kKvWarps > 1) {
            cp_async::wait<kPendingAtK + 1>();  // the Q group
            __syncthreads();
        }
        if constexpr (kQInRegs) {
#pragma unroll
            for (int mt = 0; mt < kMTiles; ++mt)
#pragma unroll
                for (int kk = 0; kk < kKSteps; ++kk)
                    mma::ldmatrix_x4(q_frag[mt][kk], smem_base + swizzle::chunk_addr(q_lane, 2 * kk) + mt * 16 * kRowBytes);
        }

        int slot = 0;  // ring slot of tile t (K and V alike)
        for (int t = t_first; t < t_end; t += kKvWarps) {
            // K_t has landed (and, after the barrier, with kv_warps = 1 every warp has finished
            // P.V of the previous tile, so that V slot is free for the tile S-1 ahead; with
            // kv_warps > 1 the V tile S ahead was issued at the end of the previous tile).
            cp_async::wait<kPendingAtK>();
            group_sync(me.kw);
            if constexpr (kKvWarps == 1) {
                const int tv = t + kStages * kKvWarps - kKvWarps;  // S-1 tiles ahead
                const int vslot = slot == 0 ? kStages - 1 : slot - 1;
                if (tv < t_end)
                    load_tile<kBlockN, kGroupThreads>(smem_base + ring + kVOffset + vslot * kKVTileBytes,
                                                      v_head + tv * kBlockN * p.v_stride[2], p.v_stride[2],
                                                      p.Skv - tv * kBlockN, safe_src, gid);
                cp_async::commit();
            }

            // Keep the slot opaque: with a compile-time slot (stages = 1) ptxas would hoist every
            // ldmatrix address out of the loop and hold them all live, which spills at the
            // 192-accumulator edge; recomputing them per tile costs a few IADDs.
            asm volatile("" : "+r"(slot));
            // ---- S = Q.K^T -------------------------------------------------------------
            float s_acc[kMTiles][kNTiles][4];
#pragma unroll
            for (int mt = 0; mt < kMTiles; ++mt)
#pragma unroll
                for (int nt = 0; nt < kNTiles; ++nt)
#pragma unroll
                    for (int e = 0; e < 4; ++e) s_acc[mt][nt][e] = 0.f;
            const unsigned k_stage = kKOffset + slot * kKVTileBytes + k_lane;
#pragma unroll
            for (int kk = 0; kk < kKSteps; ++kk) {
                unsigned a[kMTiles][4];
#pragma unroll
                for (int mt = 0; mt < kMTiles; ++mt) {
                    if constexpr (kQInRegs) {
#pragma unroll
                        for (int r = 0; r < 4; ++r) a[mt][r] = q_frag[mt][kk][r];
                    } else {
                        mma::ldmatrix_x4(a[mt], smem_base + swizzle::chunk_addr(q_lane, 2 * kk) + mt * 16 * kRowBytes);
                    }
                }
#pragma unroll
                for (int np = 0; np < kNTiles / 2; ++np) {
                    unsigned bk[4];
                    mma::ldmatrix_x4(bk, smem_base + swizzle::chunk_addr(k_stage, 2 * kk) + np * 16 * kRowBytes);
#pragma unroll
                    for (int mt = 0; mt < kMTiles; ++mt) {
                        mma::mma_16816<kBf16>(s_acc[mt][2 * np], a[mt], bk[0], bk[1]);
                        mma::mma_16816<kBf16>(s_acc[mt][2 * np + 1], a[mt], bk[2], bk[3]);
                    }
                }
            }

            // ---- mask: only tiles that cross the causal diagonal or the Skv tail ----------
            if (t >= mask_from) {
                // Key limits are recomputed here rather than kept live across the loop.
                const int key0 = t * kBlockN + 2 * tq;
#pragma unroll
                for (int mt = 0; mt < kMTiles; ++mt)
#pragma unroll
                    for (int hf = 0; hf < 2; ++hf) {
                        const int limit = visible_keys(p, q0 + warp_row0 + mt * 16 + hf * 8 + g) - key0;
#pragma unroll
                        for (int nt = 0; nt < kNTiles; ++nt)
#pragma unroll
                            for (int e = 0; e < 2; ++e)
                                if (nt * 8 + e >= limit) s_acc[mt][nt][2 * hf + e] = neg_inf();
                    }
            }

            // ---- online softmax, in registers ------------------------------------------
            unsigned p_frag[kMTiles][kPSteps][4];
#pragma unroll
            for (int mt = 0; mt < kMTiles; ++mt) {
#pragma unroll
                for (int hf = 0; hf < 2; ++hf) {
                    float mx = row_max[mt][hf];
#pragma unroll
                    for (int nt = 0; nt < kNTiles; ++nt)
                        mx = fmaxf(mx, fmaxf(s_acc[mt][nt][2 * hf], s_acc[mt][nt][2 * hf + 1]));
                    mx = softmax::quad_max(mx);
                    // A row that has seen no key yet keeps max -inf: exponentiate against 0
                    // instead so masked scores give exp2(-inf) = 0, never inf - inf = NaN.
                    const float shift = mx == neg_inf() ? 0.f : mx * scale_log2;
                    const float corr = softmax::fast_exp2(row_max[mt][hf] * scale_log2 - shift);
                    row_max[mt][hf] = mx;
                    float sum = 0.f;
#pragma unroll
                    for (int nt = 0; nt < kNTiles; ++nt)
#pragma unroll
                        for (int e = 0; e < 2; ++e) {
                            const float pv = softmax::fast_exp2(fmaf(s_acc[mt][nt][2 * hf + e], scale_log2, -shift));
                            s_acc[mt][nt][2 * hf + e] = pv;
                            sum += pv;
                        }
                    row_sum[mt][hf] = row_sum[mt][hf] * corr + sum;
#pragma unroll
                    for (int dt = 0; dt < kDTiles; ++dt) {
                        o_acc[mt][dt][2 * hf] *= corr;
                        o_acc[mt][dt][2 * hf + 1] *= corr;
                    }
                }
                // C fragments of S n-tiles (2j, 2j+1) are exactly the A fragment of P's k-step j.
#pragma unroll
                for (int j = 0; j < kPSteps; ++j) {
                    p_frag[mt][j][0] = mma::pack2<kBf16>(s_acc[mt][2 * j][0], s_acc[mt][2 * j][1]);
                    p_frag[mt][j][1] = mma::pack2<kBf16>(s_acc[mt][2 * j][2], s_acc[mt][2 * j][3]);
                    p_frag[mt][j][2] = mma::pack2<kBf16>(s_acc[mt][2 * j + 1][0], s_acc[mt][2 * j + 1][1]);
                    p_frag[mt][j][3] = mma::pack2<kBf16>(s_acc[mt][2 * j + 1][2], s_acc[mt][2 * j + 1][3]);
                }
            }

            // V_t has landed; after the barrier every warp of the group is done with K_t,
            // whose slot now takes the K tile S ahead.
            cp_async::wait<2 * kStages - 2>();
            group_sync(me.kw);
            {
                const int tk = t + kStages * kKvWarps;
                if (tk < t_end)
                    load_tile<kBlockN, kGroupThreads>(smem_base + ring + kKOffset + slot * kKVTileBytes,
                                                      k_head + tk * kBlockN * p.k_stride[2], p.k_stride[2],
                                                      p.Skv - tk * kBlockN, safe_src, gid);
                cp_async::commit();
            }

            // ---- O += P.V ----------------------------------------------------------------
            const unsigned v_stage = kVOffset + slot * kKVTileBytes + v_lane;
#pragma unroll
            for (int j = 0; j < kPSteps; ++j) {
#pragma unroll
                for (int dp = 0; dp < kDTiles / 2; ++dp) {
                    unsigned bv[4];
                    mma::ldmatrix_x4_trans(bv, smem_base + swizzle::chunk_addr(v_stage, 2 * dp) + j * 16 * kRowBytes);
#pragma unroll
                    for (int mt = 0; mt < kMTiles; ++mt) {
                        mma::mma_16816<kBf16>(o_acc[mt][2 * dp], p_frag[mt][j], bv[0], bv[1]);
                        mma::mma_16816<kBf16>(o_acc[mt][2 * dp + 1], p_frag[mt][j], bv[2], bv[3]);
                    }
                }
            }
            if constexpr (kKvWarps > 1) {
                // V_t's slot takes the V tile S ahead as soon as the group is done with it, so
                // it is in flight across the next K wait (no barrier when there is none).
                const int tv = t + kStages * kKvWarps;
                if (tv < t_end) {
                    group_sync(me.kw);
                    load_tile<kBlockN, kGroupThreads>(smem_base + ring + kVOffset + slot * kKVTileBytes,
                                                      v_head + tv * kBlockN * p.v_stride[2], p.v_stride[2],
                                                      p.Skv - tv * kBlockN, safe_src, gid);
                }
                cp_async::commit();
            }
            slot = slot + 1 == kStages ? 0 : slot + 1;
        }
    }
    cp_async::wait<0>();  // only empty groups can remain; nothing may land in the staging tile

    // ---- row statistics: full row sums, max in the log2 domain ------------------------
    float m_log2[kMTiles][2];
#pragma unroll
    for (int mt = 0; mt < kMTiles; ++mt)
#pragma unroll
        for (int hf = 0; hf < 2; ++hf) {
            row_sum[mt][hf] = softmax::quad_sum(row_sum[mt][hf]);
            m_log2[mt][hf] = row_max[mt][hf] == neg_inf() ? neg_inf() : row_max[mt][hf] * scale_log2;
        }

    // The epilogue re-derives its coordinates from fresh special-register reads, so nothing
    // computed before the loop has to stay live across it.
    const CtaCoord ecta = cta_coord(p, sreg::ctaid_x(), sreg::ctaid_y(), sreg::ctaid_z());
    const LaneCoord eme = lane_coord(sreg::tid_x());
#if FC_KV_WARPS > 1
    const bool leader = combine_kv_warps(smem, eme, o_acc, m_log2, row_sum);
#else
    constexpr bool leader = true;
#endif
#if FC_SPLITS > 1
    if (!combine_splits(p, ecta, eme, leader, o_acc, m_log2, row_sum)) return;
#endif
    if (leader) store_output(p, ecta, eme, smem, o_acc, m_log2, row_sum);
}

}  // namespace attention_mma
}  // namespace fc
