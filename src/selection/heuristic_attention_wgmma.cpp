// The `auto` heuristic of attention_wgmma (sm_90a): used when no tuned record covers a
// problem's bucket. Its schema keeps it to sm_90 devices; this file decides which problems it
// should take there and with which tiles. Every branch names the measurement behind it
// (docs/attention_wgmma.md has the tables).
#include <algorithm>

#include "flashcore/selection/families.hpp"

namespace flashcore {

namespace {

long long ceil_div(long long a, long long b) { return (a + b - 1) / b; }

VariantRequest wgmma(bool causal, std::int64_t consumer_wgs, std::int64_t block_n, std::int64_t stages,
                     std::int64_t pdl = 0, std::int64_t persistent = 1) {
    VariantRequest r{"attention_wgmma", {}};
    r.set("consumer_wgs", consumer_wgs).set("block_n", block_n).set("stages", stages);
    r.set("overlap", std::int64_t{1}).set("pingpong", std::int64_t{0}).set("persistent", persistent);
    r.set("pdl", pdl);
    // Tile order: head by head keeps K/V in L2 (run of c23c98a, B=2,H=32,S=8k,D=64: 2230 us
    // against 2476 rank-outermost, cuDNN 2448; D=128 1859 vs 1998, cuDNN 1821). Not for a
    // persistent causal kernel: CTA i takes tiles i, i + grid, ..., and when the grid is a
    // multiple of the query tiles per head every CTA keeps one query rank, so the CTAs of the
    // last ranks do all the long rows (run of 4741317: B=4,H=32,S=4096,D=64 causal 1084 us,
    // 755 rank-outermost at b16237b; B=1,H=16,S=16k,D=128 2593 vs 2109 at c23c98a).
    r.set("head_major", std::int64_t{causal && persistent ? 0 : 1});
    return r;
}

// Query tiles of 64 * consumer_wgs rows over every (batch, head).
long long tiles(const AttentionProblem& p, long long consumer_wgs) {
    return ceil_div(p.Sq, 64 * consumer_wgs) * static_cast<long long>(p.B) * p.Hq;
}

}  // namespace

// Measured on the H200 (sm_90, 132 SMs, NVRTC 13.0, bf16/f16, 2026-12-03, dev harness run 1,
// TFLOP/s of back-to-back launches; cuDNN 9.19 through torch SDPA in the same run).
std::vector<VariantRequest> attention_wgmma_heuristic(const AttentionProblem& p, const DeviceInfo& device) {
    std::vector<VariantRequest> out;
    if (device.sm != 90 || (p.dtype != DType::f16 && p.dtype != DType::bf16)) return out;
    if (p.D % 8 != 0 || p.D < 8 || p.D > 256) return out;
    const int sms = std::max(1, device.num_sms);
    // Short queries (decode, speculative decode, short chunks) waste most of a 64-row
    // warpgroup tile; attention_mma's 16-row tiles with K/V split across warps and CTAs
    // stream K/V instead.
    if (p.Sq <= 64) return out;
    // Small grids at D <= 64: the mission shape B=1,H=8,S=512,D=64 takes 10.4 us here
    // (2 consumer warpgroups) against about 5 us for attention_mma's 32-row tiles with
    // programmatic launch; the fixed cost of a 384-thread warp-specialized CTA is not hidden
    // when a quarter of the SMs hold one.
    if (p.D <= 64 && tiles(p, 1) <= sms / 2) return out;
    // Chunked prefill with few heads (a short chunk over a long cache): 128-row tiles leave most
    // SMs idle and this family does not split along keys; attention_mma's split-KV rule takes it
    // (grid arithmetic, not measured against the wgmma tiles yet).
    if (tiles(p, 2) < sms / 2 && p.Skv >= 4LL * p.Sq) return out;

    // Grids that do not fill the SMs with the large tiles: the most consumer warpgroups whose
    // tile count still reaches ~0.9 of the SMs, with programmatic launch. Measured (run of
    // bcf81e6, bf16, graph): B=1,H=8,S=1024,D=64 1 WG 9.9 us (128 CTAs) vs 3 WGs 18.9 (48 CTAs),
    // cuDNN 13.5; S=2048 2 WGs 25.1 (pdl=1, 128 CTAs) vs 3 WGs 33.2 (88), 1 WG 31.1, cuDNN 22.6.
    const long long fill = sms - sms / 10;
    const long long large = p.D <= 64 ? 3 : 2;
    if (tiles(p, large) < fill) {
        // Key tiles as the D rules below pick them (O, S and P must fit the registers).
        const std::int64_t block_n = p.D <= 128 ? 128 : p.D <= 192 ? 96 : p.causal ? 64 : 80;
        long long cw = large;
        while (cw > 1 && tiles(p, cw) < fill) --cw;
        out.push_back(wgmma(p.causal, cw, block_n, 2, 1));
        if (cw > 1) out.push_back(wgmma(p.causal, cw - 1, block_n, 2, 1));
        return out;
    }
    // Long causal rows: the hardware's CTA scheduler balances the triangle better than the
    // persistent round robin (run of 67c418e, rank-outermost order, bf16): B=2,H=16,S=8192,D=128
    // 1034 us without, 1076 with (cuDNN 1036); B=1,H=16,S=16k 1936 vs 2095 (cuDNN 2001). At
    // S=2048 (B=8) the persistent kernel is faster: D=128 328 vs 352, D=64 421 vs 444.
    const std::int64_t persistent = p.causal && p.Sq >= 8192 ? 0 : 1;
    if (p.D <= 64) {
        // D=64: three consumer warpgroups (192-row tiles) 400-440 TFLOP/s at S=4k/8k against
        // 340-360 with two (cuDNN 447-452); the ladder at S=8k: 1 WG 252, 2 WGs 358, 3 WGs 401,
        // + overlap 438, + persistent 441 (cuDNN 2408 us = 457).
        out.push_back(wgmma(p.causal, 3, 128, 2, 0, persistent));
        out.push_back(wgmma(p.causal, 2, 128, 2, 0, persistent));
    } else if (p.D <= 128) {
        // D=128: 128x128 tiles, 2 stages, intra-warpgroup overlap, persistent: 512-584 TFLOP/s
        // non-causal S=2k..16k (cuDNN 572-604), 468-555 causal (cuDNN 455-556). The ladder at
        // S=8k: 1 WG 1 stage 307, 2 stages 360, 2 WGs 508, + overlap 542, + persistent 556;
        // ping-pong 515 (548 with overlap), block_n=176 562 (cuDNN 611).
        out.push_back(wgmma(p.causal, 2, 128, 2, 0, persistent));
        out.push_back(wgmma(p.causal, 2, 96, 2, 0, persistent));
    } else if (p.D <= 192) {
        // Between the measured D=128 and D=256 points: narrower key tiles as D grows so O, S
        // and P stay in the consumers' 240 registers (not measured yet).
        out.push_back(wgmma(p.causal, 2, 96, 2));
        out.push_back(wgmma(p.causal, 2, 64, 2));
    } else {
        // D=256: 128x80 tiles 635-662 TFLOP/s non-causal (cuDNN 649); causal 128x64 498-507
        // (cuDNN 569).
        out.push_back(wgmma(p.causal, 2, p.causal ? 64 : 80, 2));
        out.push_back(wgmma(p.causal, 2, 64, 1));
    }
    return out;
}

}  // namespace flashcore
