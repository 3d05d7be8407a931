// Global -> shared memory copies of row tiles, in the three ways templates offer (`copy`):
//
//   kCopySync         plain 16-byte loads and stores; the data is in shared memory when
//                     issue() returns (a __syncthreads() still has to publish it).
//   kCopyPipeline     cp.async through <cuda_pipeline.h> (__pipeline_memcpy_async). issue()
//                     does NOT commit: the caller commits once per pipeline stage with
//                     __pipeline_commit() and waits with __pipeline_wait_prior(N).
//   kCopyMemcpyAsync  cooperative_groups::memcpy_async: include "common/tile_copy_cg.cuh",
//                     which specializes TileCopy for it (kept apart because
//                     <cooperative_groups.h> costs most of a second of NVRTC time).
//
// A tile is kRows x kCols elements of a 16-bit type. Row r comes from src + r * stride (global
// memory, stride in elements) and goes to dst + r * kLd (shared memory, padded pitch). Rows
// r >= valid are zero-filled with ordinary stores and never read from global memory. When
// `aligned` is false (the base pointer or the row stride is not a multiple of 16 bytes) rows
// are copied element by element with ordinary loads instead of 16-byte/async copies, so the
// tile is still correct.
//
// kBatches: cp.async batches every thread commits inside one issue()/issue_empty() call (0
// here; the memcpy_async specialization commits its own).
#pragma once
#include <cuda_pipeline.h>

namespace fc {

enum CopyMode : int { kCopySync = 0, kCopyPipeline = 1, kCopyMemcpyAsync = 2 };

// True when `ptr` and every row start ptr + k * stride_bytes are 16-byte aligned.
__device__ __forceinline__ bool is_aligned16(const void* ptr, long long stride_bytes) {
    return ((reinterpret_cast<unsigned long long>(ptr) | static_cast<unsigned long long>(stride_bytes)) &
            15ull) == 0;
}

// Primary template: kCopySync and kCopyPipeline.
template <int kMode, class T, int kRows, int kCols, int kLd, int kThreads>
struct TileCopy {
    static_assert(kMode == kCopySync || kMode == kCopyPipeline,
                  "copy=memcpy_async: include \"common/tile_copy_cg.cuh\" for its TileCopy specialization");
    static_assert(sizeof(T) == 2, "tile copies move 16-bit elements");
    static constexpr int kChunkElems = 8;  // 16-bit elements per 16 bytes
    static constexpr int kChunksPerRow = kCols / kChunkElems;
    static constexpr int kChunks = kRows * kChunksPerRow;
    static_assert(kCols % kChunkElems == 0, "a row must be whole 16-byte chunks");
    static_assert(kLd % kChunkElems == 0, "the shared-memory pitch must keep rows 16-byte aligned");
    static constexpr int kBatches = 0;

    // Thread c of the CTA takes 16-byte chunks c, c + kThreads, ... in row-major order.
    __device__ static void issue(T* dst, const T* src, long long stride, int valid, bool aligned) {
#pragma unroll 1
        for (int c = static_cast<int>(threadIdx.x); c < kChunks; c += kThreads) {
            const int row = c / kChunksPerRow;
            const int col = (c % kChunksPerRow) * kChunkElems;
            T* d = dst + row * kLd + col;
            if (row >= valid) {
                *reinterpret_cast<uint4*>(d) = make_uint4(0u, 0u, 0u, 0u);
                continue;
            }
            const T* s = src + row * stride + col;
            if (!aligned) {
#pragma unroll
                for (int e = 0; e < kChunkElems; ++e) d[e] = s[e];
            } else if constexpr (kMode == kCopyPipeline) {
                __pipeline_memcpy_async(d, s, 16);
            } else {
                *reinterpret_cast<uint4*>(d) = *reinterpret_cast<const uint4*>(s);
            }
        }
    }

    // A pipeline stage with nothing to load (past the last tile): nothing to do here.
    __device__ static void issue_empty(T*) {}
};

}  // namespace fc
