// Warp-level tensor-core primitives for sm_80+: mma.sync m16n8k16 with fp32 accumulators,
// ldmatrix (plain and .trans) and packing fp32 pairs into the 16-bit operand registers.
// Register fragments follow the PTX ISA ("Matrix Fragments for mma.m16n8k16 with floating
// point type"), with g = lane / 4 and t = lane % 4:
//   A (16x16, row-major)  a[0]: (g,   2t..2t+1)   a[1]: (g+8, 2t..2t+1)
//                         a[2]: (g,   2t+8..+9)   a[3]: (g+8, 2t+8..+9)
//   B (16x8, "col")       b[0]: (k=2t..2t+1, n=g) b[1]: (k=2t+8..+9, n=g)
//   C/D (16x8, fp32)      c[0..1]: (g, 2t..2t+1)  c[2..3]: (g+8, 2t..2t+1)
// Each 32-bit operand register holds two 16-bit elements, the lower column/k in the low half.
#pragma once
#include <cuda_fp16.h>
#include <cuda_bf16.h>

namespace fc {
namespace mma {

// D += A * B on one 16x8x16 tile (fp16 or bf16 inputs, fp32 accumulate). Pure register op:
// not volatile, so the compiler may schedule it freely.
template <bool kBf16>
__device__ __forceinline__ void mma_16816(float (&d)[4], const unsigned (&a)[4], unsigned b0,
                                          unsigned b1) {
    if constexpr (kBf16) {
        asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
            "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
            : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
            : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
    } else {
        asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 "
            "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
            : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
            : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
    }
}

// Four 8x8 b16 matrices from shared memory. Lane 8*i + r supplies the address of row r of
// matrix i (16 contiguous bytes); register i receives matrix i, lane l holding row l/4,
// columns 2(l%4) and 2(l%4)+1. The "memory" clobber keeps the compiler from moving ordinary
// shared-memory stores across it (the epilogue reuses the Q tile as a staging buffer).
__device__ __forceinline__ void ldmatrix_x4(unsigned (&r)[4], unsigned smem_addr) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(smem_addr)
                 : "memory");
}

// As ldmatrix_x4, but each 8x8 matrix is delivered transposed: lane l holds rows 2(l%4) and
// 2(l%4)+1 of column l/4 — the B fragment of a k-major (row-major K x N) tile.
__device__ __forceinline__ void ldmatrix_x4_trans(unsigned (&r)[4], unsigned smem_addr) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(smem_addr)
                 : "memory");
}

// Two fp32 values rounded (to nearest even) into one 16-bit pair: `lo` in the low half.
template <bool kBf16>
__device__ __forceinline__ unsigned pack2(float lo, float hi) {
    unsigned r;
    if constexpr (kBf16) {
        asm("cvt.rn.bf16x2.f32 %0, %1, %2;\n" : "=r"(r) : "f"(hi), "f"(lo));
    } else {
        asm("cvt.rn.f16x2.f32 %0, %1, %2;\n" : "=r"(r) : "f"(hi), "f"(lo));
    }
    return r;
}

}  // namespace mma
}  // namespace fc
