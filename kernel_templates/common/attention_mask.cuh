// Which keys a query may see: sequence tails and bottom-right aligned causal masking.
#pragma once
#include "common/attention_params.h"

namespace fc {

// Number of keys visible to query row `i` (keys 0 .. result-1). Causal attention is aligned
// to the bottom-right corner, so with Sq != Skv query i sees keys j <= i + (Skv - Sq); a
// row can see none when Sq > Skv.
__device__ __forceinline__ int visible_keys(const FcAttentionParams& p, int i) {
    if (!p.causal) return p.Skv;
    int last = i + (p.Skv - p.Sq);  // last visible key index
    if (last < 0) return 0;
    return last + 1 < p.Skv ? last + 1 : p.Skv;
}

// kv head that serves query head h under grouped-query attention.
__device__ __forceinline__ int kv_head_of(const FcAttentionParams& p, int h) {
    return h / (p.Hq / p.Hkv);
}

}  // namespace fc
