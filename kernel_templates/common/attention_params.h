// The one argument every attention template's kernel takes, by value.
// Shared verbatim by the host library (C++) and by NVRTC (device code), so the
// layout cannot drift between the two. Plain C types only.
#pragma once

#define FC_ATTENTION_PARAMS_VERSION 1

typedef struct FcAttentionParams {
    // Tensors. q: [B, Hq, Sq, D], k and v: [B, Hkv, Skv, D], o: [B, Hq, Sq, D], in the
    // element type the variant names (f16, bf16 or f32). Strides are in elements:
    // [0] batch, [1] head, [2] row; the head dimension is contiguous.
    const void* q;
    const void* k;
    const void* v;
    void* o;
    long long q_stride[3];
    long long k_stride[3];
    long long v_stride[3];
    long long o_stride[3];

    // Optional outputs/scratch (null when absent).
    float* lse;       // [B, Hq, Sq]: natural log of sum(exp(scaled score)); -inf for rows with no key
    float* debug;     // stage dumps, layout defined per stage in docs/templates.md
    void* workspace;  // template scratch; size from the schema's launch.workspace_bytes

    int B, Hq, Hkv, Sq, Skv, D;
    int causal;        // 1: key j is visible to query i iff j <= i + (Skv - Sq) (bottom-right)
    float scale;       // softmax scale applied to q.k (usually 1/sqrt(D))
    float scale_log2;  // scale * log2(e), for exp2-based softmax
} FcAttentionParams;
