// attention_mma: global -> shared tile copies of Q, K and V (16-byte cp.async into the
// XOR-swizzled layout of common/swizzle.cuh, zero fill past the tensor's rows and in the
// padding columns of a padded head dim).
#pragma once
#include "common/cp_async.cuh"
#include "common/swizzle.cuh"
#include "attention_mma/config.cuh"

namespace fc {
namespace attention_mma {

// load_tile when every thread keeps one chunk column (kNThreads % kChunks == 0: head dims
// 8..32, 64, 128, 256 and d_pad 16, 32): the original copy schedule. The padding chunks of a
// padded head dim (a per-thread constant column) are zero-filled.
template <int kRows, int kNThreads>
__device__ __forceinline__ void load_tile_columns(unsigned smem_tile, const elem_t* gtile, long long row_stride,
                                                  int rows_valid, const elem_t* safe_src, int tid) {
    constexpr int kTotal = kRows * kChunks;
    constexpr int kRowStep = kNThreads / kChunks;
    constexpr int kIters = kTotal >= kNThreads ? kTotal / kNThreads : 1;
    static_assert(kNThreads % kChunks == 0, "a thread keeps one chunk column across the tile");
    static_assert(kTotal % kNThreads == 0 || kTotal < kNThreads, "tiles split evenly into 16-byte copies per thread");
    if (kTotal < kNThreads && tid >= kTotal) return;
    const int chunk = tid % kChunks;
    const int row0 = tid / kChunks;
    // The thread's column holds data (always, unless the head dim is padded).
    constexpr bool kPadded = kValidChunks < kChunks;
    const bool column_ok = !kPadded || chunk < kValidChunks;
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
                    if constexpr (kPadded)
                        cp_async::copy16_zfill(dst + j * 8 * kRowBytes, column_ok ? src : safe_src, column_ok);
                    else
                        cp_async::copy16_zfill(dst + j * 8 * kRowBytes, src, true);
                    src += 8 * row_stride;
                }
            } else {
#pragma unroll
                for (int j = 0; j < kPerResidue; ++j) {
                    const bool valid = column_ok && row_r + 8 * j < rows_valid;
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
            const bool valid = column_ok && row < rows_valid;
            cp_async::copy16_zfill(smem_tile + swizzle::offset<kRowBytes>(row, chunk), valid ? src : safe_src, valid);
            src += step;
        }
    }
}

// Copy rows [0, kRows) into a swizzled shared tile with kNThreads threads (`tid` in
// 0..kNThreads-1), one row at a time from `row_src(row)`: a pointer to the row's first element,
// or nullptr for a row to zero-fill. Copy i of a thread is chunk tid + i * kNThreads of the
// row-major grid of kChunks chunks per row, so any chunk count works (padded head dims whose
// chunk count does not divide the thread count; PackGQA's Q rows, which are not one strided
// range). Chunks at or past kValidChunks are zero-filled, not read.
template <int kRows, int kNThreads, class RowSrc>
__device__ __forceinline__ void load_rows(unsigned smem_tile, const RowSrc& row_src, const elem_t* safe_src, int tid) {
    constexpr int kTotal = kRows * kChunks;
    constexpr int kCopies = (kTotal + kNThreads - 1) / kNThreads;
#pragma unroll
    for (int i = 0; i < kCopies; ++i) {
        const int idx = tid + i * kNThreads;
        if (kTotal % kNThreads != 0 && idx >= kTotal) break;
        const int row = idx / kChunks;
        const int chunk = idx % kChunks;
        const elem_t* src = row_src(row);
        const bool valid = src != nullptr && chunk < kValidChunks;
        cp_async::copy16_zfill(smem_tile + swizzle::offset<kRowBytes>(row, chunk), valid ? src + chunk * 8 : safe_src,
                               valid);
    }
}

// Copy rows [0, kRows) of a row-major global tile (16-bit elements, `row_stride` elements
// between rows) into a swizzled shared tile with kNThreads threads (`tid` in 0..kNThreads-1).
// Rows >= rows_valid are zero-filled, not read, and so are the padding chunks of a padded head
// dim. A tile with fewer 16-byte chunks than threads (a small Q tile of a large CTA) leaves
// the surplus threads idle.
template <int kRows, int kNThreads>
__device__ __forceinline__ void load_tile(unsigned smem_tile, const elem_t* gtile, long long row_stride,
                                          int rows_valid, const elem_t* safe_src, int tid) {
    if constexpr (kNThreads % kChunks != 0) {
        // A chunk count that does not divide the threads (d_pad = 48, 80, 96, ...): the generic copy.
        load_rows<kRows, kNThreads>(
            smem_tile, [&](int row) { return row < rows_valid ? gtile + row * row_stride : nullptr; }, safe_src, tid);
    } else {
        load_tile_columns<kRows, kNThreads>(smem_tile, gtile, row_stride, rows_valid, safe_src, tid);
    }
}

}  // namespace attention_mma
}  // namespace fc
