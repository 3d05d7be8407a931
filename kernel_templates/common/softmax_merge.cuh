// Partial softmax states and their merge. Warps (or CTAs) that computed the same query rows
// over disjoint key ranges each hold a partial (O, m, l): unnormalized O, the row max m in the
// log2 domain (-inf for a range with no visible key) and the full row sum l. Merged:
//   M = max_k m_k,  O = sum_k O_k * 2^(m_k - M),  l = sum_k l_k * 2^(m_k - M)
// against a reference of 0 when every m_k is -inf (softmax::base), so empty partials weigh
// ex2(-inf) = 0. Partials are folded in a fixed order whatever order they were produced in,
// so the result is bitwise reproducible.
//
// A merge is: the merged max (max_of_partials over the partials, starting from the own max
// or from -inf), the own state rescaled to it (rescale_to) or cleared (clear_state), then the
// weighted fold of the partials (fold_partials). The steps are separate functions, not one:
// a row-max array local to a shared merge function changed the generated code of its callers
// (register allocation), so the caller holds that array.
//
// The state is held in mma.sync C fragments, as one lane sees them: o[mt][dt][0..1] are row
// g of m-tile mt, o[mt][dt][2..3] row g + 8; m[mt][hf] and l[mt][hf] are those rows (hf 0, 1).
//
// Partial layout (global or shared memory): per m-tile, kDTiles float4 of O then one float4
// {m[mt][0], m[mt][1], l[mt][0], l[mt][1]}, each lane-interleaved (float4 index i of a lane at
// i * 32 + lane), so every store and load is one conflict-free, coalesced 512-byte warp access.
// index() gives i * 32; the caller's accessors add the lane and the partial's base.
//
// A source of partials `src` (global or shared memory) provides
//   src.load(k, i)       the float4 at index i of partial k (the max pass reads only the stats);
//   src.block(k, i0)[i]  the float4 at index i0 + i of partial k: the fold takes one base
//                        address per (partial, m-tile) and reaches the d-tiles by immediates.
#pragma once
#include "common/numeric.cuh"
#include "common/softmax.cuh"

namespace fc {
namespace softmax_merge {

template <int kDTiles>
__device__ __forceinline__ constexpr int index(int mt, int dt) {
    return (mt * (kDTiles + 1) + dt) * 32;
}

// Writes this lane's share of one partial: store(i, value) for each float4 index i.
template <int kMTiles, int kDTiles, class Store>
__device__ __forceinline__ void store_partial(const Store& store, const float (&o)[kMTiles][kDTiles][4],
                                              const float (&m)[kMTiles][2], const float (&l)[kMTiles][2]) {
#pragma unroll
    for (int mt = 0; mt < kMTiles; ++mt) {
#pragma unroll
        for (int dt = 0; dt < kDTiles; ++dt)
            store(index<kDTiles>(mt, dt), make_float4(o[mt][dt][0], o[mt][dt][1], o[mt][dt][2], o[mt][dt][3]));
        store(index<kDTiles>(mt, kDTiles), make_float4(m[mt][0], m[mt][1], l[mt][0], l[mt][1]));
    }
}

// m = max(m, m_k) over partials k in [kFirst, kLast) (kDTiles: O float4 per m-tile).
template <int kFirst, int kLast, int kDTiles, int kMTiles, class Source>
__device__ __forceinline__ void max_of_partials(const Source& src, float (&m)[kMTiles][2]) {
    // Rolled loops over partials: unrolled, ptxas hoists every partial's loads at once and
    // spills under an occupancy register cap (measured: 312 B at splits=3, 168 registers).
#pragma unroll 1
    for (int k = kFirst; k < kLast; ++k)
#pragma unroll
        for (int mt = 0; mt < kMTiles; ++mt) {
            const float4 st = src.load(k, index<kDTiles>(mt, kDTiles));
            m[mt][0] = fmaxf(m[mt][0], st.x);
            m[mt][1] = fmaxf(m[mt][1], st.y);
        }
}

// The empty state: no key seen (m = -inf, l = 0, O = 0).
template <int kMTiles, int kDTiles>
__device__ __forceinline__ void clear_state(float (&o)[kMTiles][kDTiles][4], float (&m)[kMTiles][2],
                                            float (&l)[kMTiles][2]) {
#pragma unroll
    for (int mt = 0; mt < kMTiles; ++mt)
#pragma unroll
        for (int hf = 0; hf < 2; ++hf) {
            m[mt][hf] = neg_inf();
            l[mt][hf] = 0.f;
        }
#pragma unroll
    for (int mt = 0; mt < kMTiles; ++mt)
#pragma unroll
        for (int dt = 0; dt < kDTiles; ++dt)
#pragma unroll
            for (int e = 0; e < 4; ++e) o[mt][dt][e] = 0.f;
}

// Rescales a state to the merged row max m_all (2^(m - m_all)); m becomes m_all.
template <int kMTiles, int kDTiles>
__device__ __forceinline__ void rescale_to(const float (&m_all)[kMTiles][2], float (&o)[kMTiles][kDTiles][4],
                                           float (&m)[kMTiles][2], float (&l)[kMTiles][2]) {
#pragma unroll
    for (int mt = 0; mt < kMTiles; ++mt)
#pragma unroll
        for (int hf = 0; hf < 2; ++hf) {
            const float w = softmax::fast_exp2(m[mt][hf] - softmax::base(m_all[mt][hf]));
            m[mt][hf] = m_all[mt][hf];
            l[mt][hf] *= w;
#pragma unroll
            for (int dt = 0; dt < kDTiles; ++dt) {
                o[mt][dt][2 * hf] *= w;
                o[mt][dt][2 * hf + 1] *= w;
            }
        }
}

// Adds partials [kFirst, kLast) of `src` to (o, l), each weighted 2^(m_k - m); m must already
// be the merged max (max_of_partials, including the state's own max if it holds one).
template <int kFirst, int kLast, int kMTiles, int kDTiles, class Source>
__device__ __forceinline__ void fold_partials(const Source& src, float (&o)[kMTiles][kDTiles][4],
                                              const float (&m)[kMTiles][2], float (&l)[kMTiles][2]) {
#pragma unroll 1
    for (int k = kFirst; k < kLast; ++k)
#pragma unroll
        for (int mt = 0; mt < kMTiles; ++mt) {
            const auto block = src.block(k, index<kDTiles>(mt, 0));
            const float4 st = block[kDTiles * 32];
            const float w0 = softmax::fast_exp2(st.x - softmax::base(m[mt][0]));
            const float w1 = softmax::fast_exp2(st.y - softmax::base(m[mt][1]));
            l[mt][0] = fmaf(st.z, w0, l[mt][0]);
            l[mt][1] = fmaf(st.w, w1, l[mt][1]);
#pragma unroll
            for (int dt = 0; dt < kDTiles; ++dt) {
                const float4 ov = block[dt * 32];
                o[mt][dt][0] = fmaf(ov.x, w0, o[mt][dt][0]);
                o[mt][dt][1] = fmaf(ov.y, w0, o[mt][dt][1]);
                o[mt][dt][2] = fmaf(ov.z, w1, o[mt][dt][2]);
                o[mt][dt][3] = fmaf(ov.w, w1, o[mt][dt][3]);
            }
        }
}

}  // namespace softmax_merge
}  // namespace fc
