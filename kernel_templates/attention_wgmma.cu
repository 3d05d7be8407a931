// FlashAttention-3-class forward for Hopper (sm_90a): TMA loads into 128-byte-swizzled shared
// memory, warpgroup MMA (wgmma) with fp32 accumulators, warp specialisation.
//
// Warpgroup 0 is the producer: one thread issues every TMA load (Q once per tile, then a
// `stages`-deep ring of K and V tiles), completing on mbarriers; the producer warpgroup gives
// most of its registers to the consumers (setmaxnreg). Warpgroups 1..consumer_wgs each own 64
// query rows of the CTA's block_m-row tile: S = Q.K^T with both operands in shared memory,
// online softmax on the accumulator fragments in registers (exp2, scale folded into log2 e),
// then O += P.V with P taken straight from registers (the fp32 S fragment packed to 16-bit
// pairs is the A fragment of the register form) and V read N-major from shared memory.
// With `overlap`, the softmax of K/V tile j runs while the tensor cores compute Q.K^T of tile
// j-1 and P.V of tile j; with `pingpong`, two consumer warpgroups take turns issuing their
// MMAs (named barriers), so one's softmax hides behind the other's MMAs. With `persistent`,
// the grid is one CTA per SM looping over tiles (longest first for causal). K/V tiles run from
// the last visible one down, so the only tiles that need a mask (the Skv tail, the causal
// diagonal) come first. docs/attention_wgmma.md describes the layouts and the pipeline.
#include "common/attention_params.h"
#include "common/attention_mask.cuh"
#include "common/numeric.cuh"
#include "common/mbarrier.cuh"
#include "common/tma.cuh"
#include "common/warp_specialization.cuh"
#include "common/wgmma.cuh"
#include "common/wgmma_instructions.cuh"
#include "common/wgmma_softmax.cuh"

#if defined(__CUDA_ARCH__) && !defined(__CUDA_ARCH_FEAT_SM90_ALL)
#error "attention_wgmma needs the sm_90a target (wgmma, setmaxnreg): compile for sm_90a"
#endif

#if FC_DTYPE == FC_DTYPE_F16
using elem_t = __half;
#elif FC_DTYPE == FC_DTYPE_BF16
using elem_t = __nv_bfloat16;
#else
#error "attention_wgmma supports dtype f16 and bf16 only"
#endif

namespace fc {
namespace attention_wgmma {

namespace ws = warp_specialization;

constexpr bool kBf16 = FC_DTYPE == FC_DTYPE_BF16;
constexpr bool kCausal = FC_CAUSAL != 0;
constexpr bool kOverlap = FC_OVERLAP != 0;
constexpr bool kPingpong = FC_PINGPONG != 0;
constexpr bool kHeadMajor = FC_HEAD_MAJOR != 0;
constexpr bool kStageQk = FC_STAGE == FC_STAGE_QK;  // debug stop: write S, not O
constexpr int kConsumers = FC_CONSUMER_WGS;  // consumer warpgroups, 64 query rows each
constexpr int kThreads = FC_THREADS;
constexpr int kBlockM = FC_BLOCK_M;
constexpr int kBlockN = FC_BLOCK_N;
constexpr int kStages = FC_STAGES;
constexpr int kDPad = FC_D_PAD;        // head dim rounded up to the k16 / n16 steps of the MMAs
constexpr int kDBlocks = FC_D_BLOCKS;  // 64-column blocks (one 128-byte swizzle span each)

constexpr int kKSteps = kDPad / 16;  // k16 steps of Q.K^T
constexpr int kPSteps = kBlockN / 16;  // k16 steps of P.V
constexpr int kSRegs = kBlockN / 2;  // S accumulator registers per thread (m64 x block_n)
constexpr int kORegs = kDPad / 2;    // O accumulator registers per thread (m64 x d_pad)

// Shared memory (from the schema's derived values; every tile 1024-byte aligned):
// [ Q: d_blocks x block_m rows x 128 B ][ O staging (or none: O reuses Q) ]
// [ K ring: stages x d_blocks x block_n x 128 B ][ V ring: same ][ mbarriers ]
constexpr int kQBlockBytes = kBlockM * 128;   // one 64-column block of the Q (or O) tile
constexpr int kKVBlockBytes = kBlockN * 128;  // one 64-column block of a K or V tile
constexpr int kKVTileBytes = FC_KV_TILE_BYTES;
constexpr int kQOffset = 0;
constexpr int kOOffset = FC_O_OFFSET;
constexpr int kKOffset = FC_K_OFFSET;
constexpr int kVOffset = FC_V_OFFSET;
constexpr int kBarOffset = FC_BARRIER_OFFSET;
constexpr bool kOAliasesQ = kOOffset == kQOffset;

// Named barriers: 0 is __syncthreads; 1..3 one per consumer warpgroup (epilogue); 4 and 5 the
// ping-pong turns of consumer warpgroups 0 and 1.
constexpr int kEpilogueBarrier = 1;
constexpr int kTurnBarrier = 4;

static_assert(kThreads == 128 * (kConsumers + 1), "one producer warpgroup plus the consumers");
static_assert(kBlockM == 64 * kConsumers, "each consumer warpgroup owns 64 query rows");
static_assert(kBlockN % 16 == 0 && kBlockN <= 256, "block_n: n16 steps of one wgmma, at most a 256-row TMA box");
static_assert(kDPad % 16 == 0 && kDPad <= 256 && kDBlocks * 64 >= kDPad, "head dim layout");
static_assert(kKVTileBytes == kDBlocks * kKVBlockBytes, "K/V tile = d_blocks blocks of block_n rows");
static_assert(kQOffset % 1024 == 0 && kOOffset % 1024 == 0 && kKOffset % 1024 == 0 && kVOffset % 1024 == 0 &&
                  kKVTileBytes % 1024 == 0 && kQBlockBytes % 1024 == 0,
              "128-byte-swizzled tiles start on 1024-byte boundaries (descriptor base offset 0)");
static_assert(!kPingpong || kConsumers == 2, "ping-pong alternates two consumer warpgroups");

// The mbarriers, in the order they sit in shared memory.
struct Barriers {
    unsigned base;
    __device__ unsigned q_full() const { return base; }
    __device__ unsigned q_empty() const { return base + 8; }
    __device__ unsigned k_full(int s) const { return base + 16 + 8 * s; }
    __device__ unsigned k_empty(int s) const { return base + 16 + 8 * (kStages + s); }
    __device__ unsigned v_full(int s) const { return base + 16 + 8 * (2 * kStages + s); }
    __device__ unsigned v_empty(int s) const { return base + 16 + 8 * (3 * kStages + s); }
};
static_assert(16 + 8 * 4 * kStages <= FC_BARRIER_BYTES, "schema barrier_bytes holds every mbarrier");

// One output tile: block_m query rows of one (batch, head) and the K/V tiles they see.
struct Tile {
    int q0, h, b, hk;
    int n_kv;       // K/V tiles with a visible key: 0 .. n_kv-1 (processed from n_kv-1 down)
    int mask_from;  // tiles >= mask_from hold a key some row of the tile must not see
};

__device__ __forceinline__ int num_tiles(const FcAttentionParams& p) {
    return (p.Sq + kBlockM - 1) / kBlockM * p.Hq * p.B;
}

// Tile order. head_major: (batch, head) outermost, so the CTAs in flight share the K/V of a
// few heads in L2 (rank outermost put every head in flight at once: at B=2,H=16,S=8k,D=128 ncu
// saw an L2 hit rate of 58% and 1.76 TB/s from DRAM, against cuDNN's 94% and 0.16 TB/s).
// Causal tiles of a head run longest first (the last query tiles see the most keys), so the
// short ones fill the end of the schedule.
__device__ __forceinline__ Tile tile_at(const FcAttentionParams& p, int index) {
    const int n_qtiles = (p.Sq + kBlockM - 1) / kBlockM;
    const int heads = p.Hq * p.B;
    int rank, bh;
    if (kHeadMajor) {
        bh = index / n_qtiles;
        rank = index - bh * n_qtiles;
    } else {
        rank = index / heads;
        bh = index - rank * heads;
    }
    Tile t;
    t.h = bh % p.Hq;
    t.b = bh / p.Hq;
    t.hk = kv_head_of(p, t.h);
    const int qtile = kCausal ? n_qtiles - 1 - rank : rank;
    t.q0 = qtile * kBlockM;
    const int q_last = min(t.q0 + kBlockM, p.Sq) - 1;
    t.n_kv = (visible_keys(p, q_last) + kBlockN - 1) / kBlockN;
    t.mask_from = visible_keys(p, t.q0) / kBlockN;
    return t;
}

// A position in the K/V rings, advanced once per K/V tile across all tiles of the CTA.
struct RingPos {
    int stage = 0;
    unsigned phase = 0;
    __device__ void advance() {
        if (++stage == kStages) {
            stage = 0;
            phase ^= 1;
        }
    }
};

// ---- producer ---------------------------------------------------------------------------

__device__ __forceinline__ void produce(const FcAttentionParams& p, const FcTensorMap* tm_q, const FcTensorMap* tm_k,
                                        const FcTensorMap* tm_v, unsigned smem, const Barriers& bar) {
    RingPos pos;
    unsigned q_round = 0;
    for (int index = blockIdx.x; index < num_tiles(p); index += gridDim.x, ++q_round) {
        const Tile t = tile_at(p, index);
        // The consumers are done with the previous tile's Q (and, when O reuses it, its store).
        mbarrier::wait(bar.q_empty(), (q_round & 1) ^ 1);
        mbarrier::arrive_expect_tx(bar.q_full(), kDBlocks * kQBlockBytes);
        for (int blk = 0; blk < kDBlocks; ++blk)
            tma::load_4d(smem + kQOffset + blk * kQBlockBytes, tm_q, blk * 64, t.q0, t.h, t.b, bar.q_full());
        // K of tile j is needed before V of tile j+1 (the consumers' order): K[n-1], then
        // (K[j], V[j+1]) for j = n-2 .. 0, then V[0].
        auto load_k = [&](int j, const RingPos& at) {
            mbarrier::wait(bar.k_empty(at.stage), at.phase ^ 1);
            mbarrier::arrive_expect_tx(bar.k_full(at.stage), kKVTileBytes);
            for (int blk = 0; blk < kDBlocks; ++blk)
                tma::load_4d(smem + kKOffset + at.stage * kKVTileBytes + blk * kKVBlockBytes, tm_k, blk * 64,
                             j * kBlockN, t.hk, t.b, bar.k_full(at.stage));
        };
        auto load_v = [&](int j, const RingPos& at) {
            mbarrier::wait(bar.v_empty(at.stage), at.phase ^ 1);
            mbarrier::arrive_expect_tx(bar.v_full(at.stage), kKVTileBytes);
            for (int blk = 0; blk < kDBlocks; ++blk)
                tma::load_4d(smem + kVOffset + at.stage * kKVTileBytes + blk * kKVBlockBytes, tm_v, blk * 64,
                             j * kBlockN, t.hk, t.b, bar.v_full(at.stage));
        };
        if (t.n_kv == 0) continue;
        RingPos k_pos = pos;
        load_k(t.n_kv - 1, k_pos);
        for (int j = t.n_kv - 2; j >= 0; --j) {
            RingPos v_pos = k_pos;
            k_pos.advance();
            load_k(j, k_pos);
            load_v(j + 1, v_pos);
        }
        load_v(0, k_pos);
        k_pos.advance();
        pos = k_pos;
    }
}

// ---- consumers --------------------------------------------------------------------------

// Where this thread's accumulator rows sit: warpgroup wg (0-based among the consumers), warp
// within it, and the lane's row g (+8) and column pair tq.
struct Lane {
    int wg, warp, lane, g, tq;
    int row0;  // first row of this warp's 16 inside the CTA tile: 64 * wg + 16 * warp
};

__device__ __forceinline__ unsigned long long q_desc(unsigned smem, const Lane& me, int kk) {
    return wgmma::desc_sw128(smem + kQOffset + (kk / 4) * kQBlockBytes + me.wg * 64 * 128 + (kk % 4) * 32, 16, 1024);
}
// (The stage is re-broadcast from lane 0: ptxas then knows the descriptor is warp-uniform and
// keeps it in uniform registers; a per-thread descriptor is moved into them between the MMAs,
// which serialises the whole batch, warning C7513.)
__device__ __forceinline__ unsigned long long k_desc(unsigned smem, int stage, int kk) {
    stage = __shfl_sync(0xffffffffu, stage, 0);
    return wgmma::desc_sw128(smem + kKOffset + stage * kKVTileBytes + (kk / 4) * kKVBlockBytes + (kk % 4) * 32, 16,
                             1024);
}
__device__ __forceinline__ unsigned long long v_desc(unsigned smem, int stage, int kk) {
    stage = __shfl_sync(0xffffffffu, stage, 0);
    return wgmma::desc_sw128(smem + kVOffset + stage * kKVTileBytes + kk * 16 * 128, kKVBlockBytes, 1024);
}

// S = Q.K^T for the K tile in `stage` (issued and committed; not waited for).
// Descriptors of one operand tile differ per k-step only by a constant added to the start
// address field (bytes >> 4), so each MMA's descriptor is the tile's base descriptor plus an
// immediate: ptxas keeps them in uniform registers and issues the batch back to back.
__device__ __forceinline__ void issue_qk(float (&s)[kSRegs], unsigned smem, const Lane& me, int stage) {
    const unsigned long long dq = q_desc(smem, me, 0);
    const unsigned long long dk = k_desc(smem, stage, 0);
    wgmma::fence_operands(s);
    wgmma::fence();
#pragma unroll
    for (int kk = 0; kk < kKSteps; ++kk)
        wgmma::mma_ss<kBlockN, kBf16, 0>(s, dq + (((kk / 4) * kQBlockBytes + (kk % 4) * 32) >> 4),
                                         dk + (((kk / 4) * kKVBlockBytes + (kk % 4) * 32) >> 4), kk > 0 ? 1 : 0);
    wgmma::commit();
    wgmma::fence_operands(s);
}

// O += P.V for the V tile in `stage` (issued and committed; not waited for).
__device__ __forceinline__ void issue_pv(float (&o)[kORegs], unsigned (&pf)[kPSteps][4], unsigned smem, int stage) {
    const unsigned long long dv = v_desc(smem, stage, 0);
    wgmma::fence_operands(o);
#pragma unroll
    for (int kk = 0; kk < kPSteps; ++kk) wgmma::fence_operands(pf[kk]);
    wgmma::fence();
#pragma unroll
    for (int kk = 0; kk < kPSteps; ++kk) wgmma::mma_rs<kDPad, kBf16, 1>(o, pf[kk], dv + ((kk * 16 * 128) >> 4), 1);
    wgmma::commit();
    wgmma::fence_operands(o);
}

// Releases a K or V ring slot: one arrival per consumer warp, after its MMAs reading the slot
// have completed.
__device__ __forceinline__ void release(unsigned empty_barrier, const Lane& me) {
    if (me.lane == 0) mbarrier::arrive(empty_barrier);
}

// Ping-pong turns: a consumer warpgroup issues its MMAs between taking its turn and handing
// the turn to the other one.
__device__ __forceinline__ void take_turn(const Lane& me) {
    if constexpr (kPingpong) ws::named_sync(kTurnBarrier + me.wg, 256);
}
__device__ __forceinline__ void pass_turn(const Lane& me) {
    if constexpr (kPingpong) ws::named_arrive(kTurnBarrier + (me.wg ^ 1), 256);
}

// One serial MMA step on a ring slot: wait for the slot, issue in this warpgroup's turn, wait
// for completion, give the slot back. (The overlapped loop interleaves these by hand.)
__device__ __forceinline__ void qk_step(float (&s)[kSRegs], unsigned smem, const Barriers& bar, const Lane& me,
                                        const RingPos& at) {
    mbarrier::wait(bar.k_full(at.stage), at.phase);
    take_turn(me);
    issue_qk(s, smem, me, at.stage);
    pass_turn(me);
    wgmma::wait<0>();
    wgmma::fence_operands(s);
    release(bar.k_empty(at.stage), me);
}
__device__ __forceinline__ void pv_step(float (&o)[kORegs], unsigned (&pf)[kPSteps][4], unsigned smem,
                                        const Barriers& bar, const Lane& me, const RingPos& at) {
    mbarrier::wait(bar.v_full(at.stage), at.phase);
    take_turn(me);
    issue_pv(o, pf, smem, at.stage);
    pass_turn(me);
    wgmma::wait<0>();
    wgmma::fence_operands(o);
    release(bar.v_empty(at.stage), me);
}

// Softmax of one S tile (K/V tile j): S becomes P (fp32, in place), the row statistics absorb
// the tile, and `corr` receives the factors the previous O rows must be scaled by.
__device__ __forceinline__ void softmax_tile(float (&s)[kSRegs], wgmma_softmax::Rows& rows, float (&corr)[2],
                                             const FcAttentionParams& p, const Tile& t, const Lane& me, int j) {
    if (j >= t.mask_from) {
        const int key0 = j * kBlockN + 2 * me.tq;
#pragma unroll
        for (int hf = 0; hf < 2; ++hf) {
            const int limit = visible_keys(p, t.q0 + me.row0 + me.g + 8 * hf) - key0;
            wgmma_softmax::mask_row<kSRegs>(s, hf, limit);
        }
    }
    wgmma_softmax::update<kSRegs>(s, rows, corr, p.scale_log2);
}

__device__ __forceinline__ void scale_o(float (&o)[kORegs], const float (&corr)[2]) {
#pragma unroll
    for (int i = 0; i < kORegs; ++i) o[i] *= corr[(i >> 1) & 1];
}

// Normalises O, writes LSE, stages O (as elem_t, 128-byte swizzled like the Q tile) and stores
// this warpgroup's 64 rows with TMA.
__device__ __forceinline__ void store_tile(const FcAttentionParams& p, const FcTensorMap* tm_o, unsigned smem,
                                           unsigned char* smem_ptr, const Tile& t, const Lane& me,
                                           float (&o)[kORegs], const wgmma_softmax::Rows& rows) {
    float inv[2];
#pragma unroll
    for (int hf = 0; hf < 2; ++hf) {
        const float l = rows.sum[hf];
        inv[hf] = l > 0.f ? 1.f / l : 0.f;
        const int row = t.q0 + me.row0 + me.g + 8 * hf;
        if (p.lse != nullptr && me.tq == 0 && row < p.Sq) {
            const float lse = l > 0.f ? (rows.max[hf] * p.scale_log2 + __log2f(l)) * kLn2 : neg_inf();
            p.lse[(static_cast<long long>(t.b) * p.Hq + t.h) * p.Sq + row] = lse;
        }
    }
    const int tid_wg = me.warp * 32 + me.lane;
    // The previous tile's store must have finished reading the staging rows.
    if (tid_wg == 0) tma::store_wait_read<0>();
    ws::named_sync(kEpilogueBarrier + me.wg, 128);
    // Staging addresses from a fresh %tid read: derived from `me`, they are loop-invariant and
    // ptxas hoists all of them out of the tile loop, where they spill.
    unsigned tid_fresh;
    asm volatile("mov.u32 %0, %%tid.x;\n" : "=r"(tid_fresh));
    const int g = (tid_fresh % 32) / 4, tq = tid_fresh % 4;
    // Row g (+8) of this warp's 16; its 128-byte-swizzle phase is g (rows 8 apart share it).
    unsigned char* const row_base = smem_ptr + kOOffset + (64 * me.wg + 16 * ((tid_fresh / 32) % 4) + g) * 128 + 4 * tq;
#pragma unroll
    for (int n8 = 0; n8 < kORegs / 4; ++n8) {
        const int blk = n8 / 8, chunk = n8 % 8;
        unsigned char* const at = row_base + blk * kQBlockBytes + ((chunk ^ g) << 4);
#pragma unroll
        for (int hf = 0; hf < 2; ++hf) {
            const unsigned packed =
                wgmma_softmax::pack2<kBf16>(o[4 * n8 + 2 * hf] * inv[hf], o[4 * n8 + 2 * hf + 1] * inv[hf]);
            *reinterpret_cast<unsigned*>(at + hf * 8 * 128) = packed;
        }
    }
    tma::proxy_fence();
    ws::named_sync(kEpilogueBarrier + me.wg, 128);
    if (tid_wg == 0) {
        for (int blk = 0; blk < kDBlocks; ++blk)
            tma::store_4d(tm_o, smem + kOOffset + blk * kQBlockBytes + me.wg * 64 * 128, blk * 64,
                          t.q0 + 64 * me.wg, t.h, t.b);
        tma::store_commit();
    }
}

// Debug stop stage=qk: every tile's masked, scaled scores go to p.debug ([B, Hq, Sq, Skv]
// fp32, -inf where masked); no softmax, no P.V, no O. The producer runs unchanged (its V
// tiles are released unread).
__device__ __forceinline__ void consume_scores(const FcAttentionParams& p, unsigned smem, const Barriers& bar,
                                               const Lane& me) {
    RingPos pos;
    unsigned q_round = 0;
    for (int index = blockIdx.x; index < num_tiles(p); index += gridDim.x, ++q_round) {
        const Tile t = tile_at(p, index);
        mbarrier::wait(bar.q_full(), q_round & 1);
        float s[kSRegs];
#pragma unroll
        for (int i = 0; i < kSRegs; ++i) s[i] = 0.f;
        for (int j = t.n_kv - 1; j >= 0; --j) {
            mbarrier::wait(bar.k_full(pos.stage), pos.phase);
            issue_qk(s, smem, me, pos.stage);
            wgmma::wait<0>();
            wgmma::fence_operands(s);
            release(bar.k_empty(pos.stage), me);
            if (j >= t.mask_from) {
#pragma unroll
                for (int hf = 0; hf < 2; ++hf)
                    wgmma_softmax::mask_row<kSRegs>(
                        s, hf, visible_keys(p, t.q0 + me.row0 + me.g + 8 * hf) - (j * kBlockN + 2 * me.tq));
            }
#pragma unroll
            for (int n8 = 0; n8 < kSRegs / 4; ++n8)
#pragma unroll
                for (int hf = 0; hf < 2; ++hf)
#pragma unroll
                    for (int e = 0; e < 2; ++e) {
                        const int row = t.q0 + me.row0 + me.g + 8 * hf;
                        const int col = j * kBlockN + 8 * n8 + 2 * me.tq + e;
                        if (row < p.Sq && col < p.Skv)
                            p.debug[((static_cast<long long>(t.b) * p.Hq + t.h) * p.Sq + row) * p.Skv + col] =
                                s[4 * n8 + 2 * hf + e] * p.scale;
                    }
            mbarrier::wait(bar.v_full(pos.stage), pos.phase);
            release(bar.v_empty(pos.stage), me);
            pos.advance();
        }
        // Keys past the last visible tile were never loaded: all masked for these rows.
#pragma unroll
        for (int hf = 0; hf < 2; ++hf) {
            const int row = t.q0 + me.row0 + me.g + 8 * hf;
            if (row >= p.Sq) continue;
            float* out = p.debug + ((static_cast<long long>(t.b) * p.Hq + t.h) * p.Sq + row) * p.Skv;
            for (int col = t.n_kv * kBlockN + me.tq; col < p.Skv; col += 4) out[col] = neg_inf();
        }
        if (me.lane == 0) mbarrier::arrive(bar.q_empty());
    }
}

__device__ __forceinline__ void consume(const FcAttentionParams& p, const FcTensorMap* tm_o, unsigned smem,
                                        unsigned char* smem_ptr, const Barriers& bar, const Lane& me) {
    RingPos pos;
    unsigned q_round = 0;
    if constexpr (kPingpong) {
        if (me.wg == 1) ws::named_arrive(kTurnBarrier, 256);  // warpgroup 0 goes first
    }
    for (int index = blockIdx.x; index < num_tiles(p); index += gridDim.x, ++q_round) {
        const Tile t = tile_at(p, index);
        float o[kORegs];
#pragma unroll
        for (int i = 0; i < kORegs; ++i) o[i] = 0.f;
        wgmma_softmax::Rows rows;
        rows.init();
        mbarrier::wait(bar.q_full(), q_round & 1);

        if (t.n_kv > 0) {
            float s[kSRegs];
#pragma unroll
            for (int i = 0; i < kSRegs; ++i) s[i] = 0.f;
            unsigned pf[kPSteps][4];
            float corr[2];
            int j = t.n_kv - 1;
            // First K tile: S, softmax (O is still zero: no rescale needed).
            qk_step(s, smem, bar, me, pos);
            softmax_tile(s, rows, corr, p, t, me, j);
            wgmma_softmax::pack_p<kSRegs, kBf16>(s, pf);
            RingPos v_pos = pos;  // V of tile j sits in the same slot as K of tile j
            pos.advance();
            if constexpr (kOverlap) {
                for (--j; j >= 0; --j) {
                    mbarrier::wait(bar.k_full(pos.stage), pos.phase);
                    take_turn(me);
                    issue_qk(s, smem, me, pos.stage);
                    mbarrier::wait(bar.v_full(v_pos.stage), v_pos.phase);
                    issue_pv(o, pf, smem, v_pos.stage);
                    pass_turn(me);
                    wgmma::wait<1>();  // S of tile j is ready; P.V of tile j+1 may still run
                    wgmma::fence_operands(s);
                    release(bar.k_empty(pos.stage), me);
                    if (j == 0 && !kOAliasesQ && me.lane == 0) mbarrier::arrive(bar.q_empty());
                    // pf is still read by the P.V in flight: P stays in S (fp32) until it is done.
                    softmax_tile(s, rows, corr, p, t, me, j);
                    wgmma::wait<0>();
                    wgmma::fence_operands(o);
#pragma unroll
                    for (int kk = 0; kk < kPSteps; ++kk) wgmma::fence_operands(pf[kk]);  // read until here
                    release(bar.v_empty(v_pos.stage), me);
                    scale_o(o, corr);
                    wgmma_softmax::pack_p<kSRegs, kBf16>(s, pf);
                    v_pos = pos;
                    pos.advance();
                }
                if (t.n_kv == 1 && !kOAliasesQ && me.lane == 0) mbarrier::arrive(bar.q_empty());
                pv_step(o, pf, smem, bar, me, v_pos);
            } else {
                // Without overlap: P.V of tile j, then S and softmax of tile j-1, in turn. With
                // ping-pong each MMA batch is one turn, so one warpgroup's softmax runs while
                // the other's MMAs do.
                if (t.n_kv == 1 && !kOAliasesQ && me.lane == 0) mbarrier::arrive(bar.q_empty());
                pv_step(o, pf, smem, bar, me, v_pos);
                for (--j; j >= 0; --j) {
                    qk_step(s, smem, bar, me, pos);
                    if (j == 0 && !kOAliasesQ && me.lane == 0) mbarrier::arrive(bar.q_empty());
                    softmax_tile(s, rows, corr, p, t, me, j);
                    wgmma_softmax::pack_p<kSRegs, kBf16>(s, pf);
                    scale_o(o, corr);
                    pv_step(o, pf, smem, bar, me, pos);
                    pos.advance();
                }
            }
        } else if (!kOAliasesQ && me.lane == 0) {
            mbarrier::arrive(bar.q_empty());
        }

        rows.finish();
        // The epilogue derives its tile coordinates again from an opaque copy of the index:
        // kept live across the K/V loop they cost the registers that spilled at D=192 with one
        // consumer warpgroup (4 B with the head-major order).
        int index_fresh;
        asm volatile("mov.b32 %0, %1;\n" : "=r"(index_fresh) : "r"(index));
        store_tile(p, tm_o, smem, smem_ptr, tile_at(p, index_fresh), me, o, rows);
        if constexpr (kOAliasesQ) {
            // O was staged in the Q tile: the producer may load the next Q once the store has
            // read it.
            if (me.warp == 0 && me.lane == 0) tma::store_wait_read<0>();
            ws::named_sync(kEpilogueBarrier + me.wg, 128);
            if (me.lane == 0) mbarrier::arrive(bar.q_empty());
        }
    }
    if constexpr (kPingpong) {
        if (me.wg == 0) ws::named_sync(kTurnBarrier, 256);  // the turn warpgroup 1 handed back last
    }
    // Global writes of the bulk stores must be complete before the CTA exits.
    if (me.warp == 0 && me.lane == 0) asm volatile("cp.async.bulk.wait_group 0;\n" ::: "memory");
}

__global__ void __launch_bounds__(kThreads, 1)
    attention_wgmma_fwd(const __grid_constant__ FcAttentionParams p, const __grid_constant__ FcTensorMap tm_q,
                        const __grid_constant__ FcTensorMap tm_k, const __grid_constant__ FcTensorMap tm_v,
                        const __grid_constant__ FcTensorMap tm_o) {
    extern __shared__ __align__(1024) unsigned char smem_raw[];
    // TMA swizzling and wgmma descriptors address shared memory absolutely: align the base.
    const unsigned raw = static_cast<unsigned>(__cvta_generic_to_shared(smem_raw));
    const unsigned smem = (raw + 1023u) & ~1023u;
    unsigned char* const smem_ptr = smem_raw + (smem - raw);
    const Barriers bar{smem + kBarOffset};
    const int tid = threadIdx.x;
    const int wg = tid / 128;
#if FC_PDL
    // Programmatic dependent launch: the previous kernel of the stream may still be running;
    // wait for it (and its writes) before the first global access, then let the next kernel's
    // CTAs be scheduled. Both are no-ops for an ordinary launch.
    asm volatile("griddepcontrol.wait;" ::: "memory");
    asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif

    if (tid == 0) {
        tma::prefetch_map(&tm_q);
        tma::prefetch_map(&tm_k);
        tma::prefetch_map(&tm_v);
        tma::prefetch_map(&tm_o);
        // Full barriers: the producer's one arrival plus the bytes; empty barriers: one
        // arrival per consumer warp.
        mbarrier::init(bar.q_full(), 1);
        mbarrier::init(bar.q_empty(), 4 * kConsumers);
        for (int s = 0; s < kStages; ++s) {
            mbarrier::init(bar.k_full(s), 1);
            mbarrier::init(bar.k_empty(s), 4 * kConsumers);
            mbarrier::init(bar.v_full(s), 1);
            mbarrier::init(bar.v_empty(s), 4 * kConsumers);
        }
        mbarrier::fence_init();
    }
    __syncthreads();

    if (wg == 0) {
        ws::release_registers<FC_PRODUCER_REGS>();
        if (tid == 0) produce(p, &tm_q, &tm_k, &tm_v, smem, bar);
        return;
    }
    ws::claim_registers<FC_CONSUMER_REGS>();
    Lane me;
    // Warp-uniform in the compiler's eyes (a shuffle of lane 0's value), so the descriptors
    // derived from it live in uniform registers as wgmma wants them.
    me.wg = __shfl_sync(0xffffffffu, wg - 1, 0);
    me.warp = (tid / 32) % 4;
    me.lane = tid % 32;
    me.g = me.lane / 4;
    me.tq = me.lane % 4;
    me.row0 = 64 * me.wg + 16 * me.warp;
    if constexpr (kStageQk) consume_scores(p, smem, bar, me);
    else consume(p, &tm_o, smem, smem_ptr, bar, me);
}

}  // namespace attention_wgmma
}  // namespace fc
