// attention_mma: the variant's constants. Every size comes from the rendered prelude: the
// schema derives the warp tiling and the shared-memory layout once (threads, row_warps,
// rows_per_warp, m_tiles, q_bytes, kv_tile_bytes, kv_slot_bytes, partial_bytes, smem_bytes)
// and checks its constraints before anything is rendered. The asserts below are the
// invariants the schema does not state: alignment, hardware limits, even work splits.
#pragma once
#include "common/dtype.cuh"

namespace fc {
namespace attention_mma {

static_assert(sizeof(elem_t) == 2, "attention_mma multiplies 16-bit elements (dtype f16 or bf16)");

constexpr bool kBf16 = kElemBf16;
constexpr bool kCausal = FC_CAUSAL != 0;
constexpr bool kQInRegs = FC_Q_IN_REGS != 0;
constexpr int kBlockM = FC_BLOCK_M;
constexpr int kBlockN = FC_BLOCK_N;
constexpr int kWarps = FC_WARPS;
constexpr int kKvWarps = FC_KV_WARPS;          // warp groups that split the K/V tiles
constexpr int kRowWarps = FC_ROW_WARPS;        // warps that split the query rows
constexpr int kGroupThreads = kRowWarps * 32;  // threads of one kv group (they share a K/V ring)
constexpr int kThreads = FC_THREADS;
constexpr int kStages = FC_STAGES;
constexpr int kSplits = FC_SPLITS;
constexpr bool kPackGqa = FC_PACK_GQA != 0;   // rows = (query position, head of the GQA group)
// Head dims: kD columns are real (any multiple of 8: whole 16-byte chunks), the MMAs run on
// kDPad = round_up(kD, 16) of them (k16 steps of Q.K^T, pairs of n8 tiles of P.V), and a
// shared row is kRowElems = round_up(kDPad, 64) elements (whole 128-byte swizzle spans). The
// chunks in [kD, kDPad) are zero-filled in shared memory, so they add 0 to Q.K^T and their
// O columns are never stored; chunks past kDPad are never touched.
constexpr int kD = FC_HEAD_DIM;
constexpr int kDPad = FC_D_PAD;
constexpr int kRowElems = FC_ROW_ELEMS;

constexpr int kRowsPerWarp = FC_ROWS_PER_WARP;
constexpr int kMTiles = FC_M_TILES;            // m16 MMA tiles per warp
constexpr int kNTiles = kBlockN / 8;           // n8 tiles of S per m-tile
constexpr int kKSteps = kDPad / 16;            // k16 steps of Q.K^T
constexpr int kDTiles = kDPad / 8;             // n8 tiles of O per m-tile
constexpr int kPSteps = kBlockN / 16;          // k16 steps of P.V
constexpr int kRowBytes = kRowElems * 2;       // one 16-bit row of Q, K, V or O in shared memory
constexpr int kChunks = kDPad / 8;             // 16-byte chunks of a row the MMAs read
constexpr int kValidChunks = kD / 8;           // of them, chunks that hold data (the rest: zeros)

// Shared memory: [ Q tile ][ slot of kv group 0 ] ... [ slot of kv group kv_warps-1 ]. A slot
// is the group's K ring (stages tiles) then its V ring; with kv_warps > 1, groups 1.. reuse
// their slot for their partial after the K/V loop (the schema sizes the slot for both).
constexpr int kQBytes = FC_Q_BYTES;
constexpr int kKVTileBytes = FC_KV_TILE_BYTES;
constexpr int kSlotBytes = FC_KV_SLOT_BYTES;
constexpr int kKOffset = kQBytes;
constexpr int kVOffset = kQBytes + kStages * kKVTileBytes;
// Split-KV partials (global) and kv-warp partials (shared), per CTA: for each (row warp,
// m-tile), kDTiles float4 of O accumulators plus one float4 of row statistics, each stored
// lane-interleaved (common/softmax_merge.cuh).
constexpr int kPartialFloat4 = FC_PARTIAL_BYTES / 16;

static_assert(kKvWarps == 1 || kKvWarps + 1 <= 16, "kv group barriers use named barriers 1..kv_warps");
static_assert(kSlotBytes % 128 == 0 && kQBytes % 128 == 0 && kKVTileBytes % 128 == 0,
              "tiles start on 128-byte swizzle spans");
static_assert(kD % 8 == 0 && kDPad % 16 == 0 && kRowElems % 64 == 0 && kDPad <= kRowElems,
              "head dims are whole 16-byte chunks, padded to k16 steps and 128-byte rows");
static_assert((kRowsPerWarp * kChunks) % 32 == 0, "O staging must split evenly over a warp");

using OAcc = float[kMTiles][kDTiles][4];
using RowStat = float[kMTiles][2];

}  // namespace attention_mma
}  // namespace fc
