// attention_mma: global -> shared tile copies of Q, K and V (16-byte cp.async into the
// XOR-swizzled layout of common/swizzle.cuh, zero fill past the tensor's rows).
#pragma once
#include "common/cp_async.cuh"
#include "common/swizzle.cuh"
#include "attention_mma/config.cuh"

namespace fc {
namespace attention_mma {

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

}  // namespace attention_mma
}  // namespace fc
