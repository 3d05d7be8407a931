// TileCopy for copy=memcpy_async: cooperative_groups::memcpy_async (see common/tile_copy.cuh
// for the tile contract). A row is copied by one thread_block_tile of kChunksPerRow threads
// (one 16-byte chunk each); tile g copies rows g, g + kGroups, ... Every cg::memcpy_async call
// commits its own batch, so each thread commits exactly kBatches = kRowSlots batches per
// issue()/issue_empty() — empty ones (zero-length memcpy_async) for slots past the tile or
// rows that are zero-filled — which makes the count behind cg::wait_prior<N> the same for every
// thread: N = (tiles allowed in flight) * (batches per tile).
#pragma once
#include <cooperative_groups.h>
#include <cooperative_groups/memcpy_async.h>
#include "common/tile_copy.cuh"

namespace fc {

template <class T, int kRows, int kCols, int kLd, int kThreads>
struct TileCopy<kCopyMemcpyAsync, T, kRows, kCols, kLd, kThreads> {
    static_assert(sizeof(T) == 2, "tile copies move 16-bit elements");
    static constexpr int kChunkElems = 8;  // 16-bit elements per 16 bytes
    static constexpr int kChunksPerRow = kCols / kChunkElems;
    static_assert(kCols % kChunkElems == 0, "a row must be whole 16-byte chunks");
    static_assert(kLd % kChunkElems == 0, "the shared-memory pitch must keep rows 16-byte aligned");
    static_assert(kChunksPerRow <= 32 && (kChunksPerRow & (kChunksPerRow - 1)) == 0,
                  "a row is copied by a power-of-two thread_block_tile of at most 32 threads");
    static_assert(kThreads % kChunksPerRow == 0, "the CTA splits into whole row tiles");
    static constexpr int kGroups = kThreads / kChunksPerRow;
    static constexpr int kRowSlots = (kRows + kGroups - 1) / kGroups;
    static constexpr int kBatches = kRowSlots;

    __device__ static void issue(T* dst, const T* src, long long stride, int valid, bool aligned) {
        namespace cg = cooperative_groups;
        const cg::thread_block_tile<kChunksPerRow> tile = cg::tiled_partition<kChunksPerRow>(cg::this_thread_block());
        const int group = static_cast<int>(threadIdx.x) / kChunksPerRow;
        const int lane = static_cast<int>(tile.thread_rank());
#pragma unroll 1
        for (int slot = 0; slot < kRowSlots; ++slot) {
            const int row = group + slot * kGroups;  // uniform within the tile
            if (row < valid) {
                T* d = dst + row * kLd;
                const T* s = src + row * stride;
                if (aligned) {  // 16-byte datums: straight cp.async of 16 bytes per thread
                    cg::memcpy_async(tile, reinterpret_cast<uint4*>(d), static_cast<size_t>(kChunksPerRow),
                                     reinterpret_cast<const uint4*>(s), static_cast<size_t>(kChunksPerRow));
                } else {  // byte count: cooperative_groups works out the alignment itself
                    cg::memcpy_async(tile, d, s, static_cast<size_t>(kCols) * sizeof(T));
                }
            } else {
                if (row < kRows)
                    *reinterpret_cast<uint4*>(dst + row * kLd + lane * kChunkElems) = make_uint4(0u, 0u, 0u, 0u);
                commit_empty(tile, dst);
            }
        }
    }

    // A pipeline stage with nothing to load: the same kBatches batches, all empty.
    __device__ static void issue_empty(T* dst) {
        namespace cg = cooperative_groups;
        const cg::thread_block_tile<kChunksPerRow> tile = cg::tiled_partition<kChunksPerRow>(cg::this_thread_block());
#pragma unroll 1
        for (int slot = 0; slot < kRowSlots; ++slot) commit_empty(tile, dst);
    }

    // A zero-length memcpy_async copies nothing and commits an empty batch.
    template <class Tile>
    __device__ static void commit_empty(const Tile& tile, T* dst) {
        cooperative_groups::memcpy_async(tile, reinterpret_cast<uint4*>(dst), static_cast<size_t>(0),
                                         reinterpret_cast<const uint4*>(dst), static_cast<size_t>(0));
    }
};

}  // namespace fc
