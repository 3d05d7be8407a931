// XOR swizzle for row-major shared-memory tiles of 16-bit elements whose rows are a multiple
// of 128 bytes (head_dim 64, 128, 256). A row is a sequence of 16-byte chunks; chunk c of
// row r is stored at chunk (c ^ (r % 8)). Eight consecutive rows at the same logical chunk
// then land in eight different 16-byte bank groups, so ldmatrix (8 lanes = 8 rows, one
// chunk) and 16-byte cp.async stores (8 lanes = 8 chunks of one row) are conflict-free.
// The tile base must be 128-byte aligned.
#pragma once

namespace fc {
namespace swizzle {

// Byte offset of 16-byte chunk `chunk` of row `row` in a tile with `kRowBytes` per row.
template <int kRowBytes>
__device__ __forceinline__ unsigned offset(int row, int chunk) {
    static_assert(kRowBytes % 128 == 0, "swizzled rows must span whole 128-byte bank sweeps");
    return static_cast<unsigned>(row * kRowBytes + ((chunk ^ (row & 7)) << 4));
}

// Addressing with a per-lane base: a lane whose row is fixed precomputes
// lane_addr = base + offset(row, lane_chunk) once (lane_chunk in 0..7). Chunk c ^ lane_chunk
// of that row is then at (lane_addr ^ ((c & 7) << 4)) + (c >> 3) * 128, because the
// row's low three bits and both chunk terms only touch address bits 4..6: one LOP3 with an
// immediate, and whole-row or whole-128-byte steps fold into the instruction's offset.
// (For ldmatrix, lane_chunk is 0 or 1 and c is even, so c ^ lane_chunk = c + lane_chunk.)
// `chunk` should be a compile-time constant after unrolling so both terms fold to immediates.
__device__ __forceinline__ unsigned chunk_addr(unsigned lane_addr, int chunk) {
    return (lane_addr ^ static_cast<unsigned>((chunk & 7) << 4)) + static_cast<unsigned>(chunk >> 3) * 128u;
}

}  // namespace swizzle
}  // namespace fc
