// The `auto` heuristic of attention_mma: used when no tuned record covers a problem's bucket.
// Every branch names the measurement it rests on (docs/performance.md has the tables).
#include <algorithm>

#include "flashcore/selection/families.hpp"

namespace flashcore {

namespace {

int ceil_div(long long a, long long b) { return static_cast<int>((a + b - 1) / b); }

// The split-KV factor that brings a small grid close to one full wave of CTAs without giving
// a split fewer than two K/V tiles (below that the combine costs more than it saves).
int choose_splits(const AttentionProblem& p, int block_m, int block_n, int num_sms) {
    static const int kSplits[] = {1, 2, 3, 4, 6, 8, 16};
    long long ctas = static_cast<long long>(ceil_div(p.Sq, block_m)) * p.Hq * p.B;
    int kv_tiles = ceil_div(p.Skv, block_n);
    int best = 1;
    for (int s : kSplits) {
        if (kv_tiles < 2 * s) break;
        if (ctas * s > 2LL * num_sms) break;
        best = s;
    }
    return best;
}

VariantRequest mma(std::int64_t block_m, std::int64_t block_n, std::int64_t warps, std::int64_t kv_warps,
                   std::int64_t stages, std::int64_t splits, std::int64_t pdl = 0) {
    VariantRequest r{"attention_mma", {}};
    r.set("block_m", block_m).set("block_n", block_n).set("warps", warps).set("kv_warps", kv_warps);
    r.set("stages", stages).set("splits", splits).set("pdl", pdl);
    return r;
}

}  // namespace

// Rules in order; the caller takes the first variant that is valid for the problem and fits
// the device. Times quoted are CUDA-graph medians from `flashcore tune` on an H100 (sm_90,
// NVRTC 13.0, 2026-11-24; the records and logs are described in docs/performance.md).
std::vector<VariantRequest> attention_mma_heuristic(const AttentionProblem& p, const DeviceInfo& device) {
    std::vector<VariantRequest> out;
    if (p.dtype == DType::f32 || (p.D != 64 && p.D != 128 && p.D != 256) || device.sm < 80) return out;
    const int sms = std::max(1, device.num_sms);
    const long long heads = static_cast<long long>(p.B) * p.Hq;

    // Decode and very short prompts (Sq <= 16): one 16-row tile, the K/V tiles split over the
    // 4 warps of the CTA (kv_warps) and over CTAs (splits) until about half the SMs hold a CTA.
    // B=2,Hq=16,Sq=1,Skv=4096,D=128: 16x32, 4 warps / kv 4, stages 2, splits 2 = 28.3 us; the
    // best 64-row tile (64x64, splits 4) 31.9 us.
    if (p.Sq <= 16 && p.D <= 128) {
        int splits = 1;
        for (int s : {2, 4, 8, 16}) {
            if (heads * s > sms / 2 || ceil_div(p.Skv, 32) < 8 * s) break;
            splits = s;
        }
        out.push_back(mma(16, 32, 4, 4, 2, splits));
    }
    // Small grids at D=64 (at most half the SMs busy with 64-row tiles): 32-row tiles, 8 warps as
    // 2 row warps x 4 kv groups. Mission shape B=1,H=8,S=512,D=64: 5.40-5.42 us (f16/bf16,
    // causal or not) against 6.60 us for the best 64-row tile and 10.0 us for 128x128; with
    // programmatic dependent launch (sm_90+) 4.94-5.01 us against 5.42-5.51 without (a later
    // tune of the same shape). Short kernels are where the launch gap matters; pdl is not
    // measured on the other rules, so they keep ordinary launches.
    if (p.D == 64 && static_cast<long long>(ceil_div(p.Sq, 64)) * heads <= sms / 2)
        out.push_back(mma(32, 64, 8, 4, 2, 1, device.sm >= 90 ? 1 : 0));
    // D=128 grids that 128-row tiles cannot fill: 64x128 tiles, single-stage ring. B=1,H=32,
    // S=512: 16.7 us against 17.6 (64x64) and 19.8 (best 32-row tile).
    if (p.D == 128 && static_cast<long long>(ceil_div(p.Sq, 128)) * heads <= sms)
        out.push_back(mma(64, 128, 4, 1, 1, 1));

    // Everything else: FlashAttention-2's published sm80/sm90 forward tilings (128-row query
    // tiles, 4 warps of 32 rows; narrower key tiles as D grows so S, P and O fit in registers),
    // which measured >= 1.05x FlashAttention-2 on every sweep row (docs/performance.md).
    struct Shape {
        int block_m, block_n, warps, stages;
    };
    std::vector<Shape> shapes;
    if (p.D == 64) shapes = {{128, 128, 4, 2}, {128, 64, 4, 2}, {64, 64, 4, 2}};
    else if (p.D == 128) shapes = {{128, 64, 4, 2}, {128, 32, 4, 2}, {64, 64, 4, 2}};
    else shapes = {{64, 32, 4, 2}, {64, 64, 4, 1}};
    // Small query counts waste most of a 128-row tile.
    if (p.Sq <= 64) std::stable_sort(shapes.begin(), shapes.end(), [](const Shape& a, const Shape& b) { return a.block_m < b.block_m; });
    for (const Shape& s : shapes)
        out.push_back(mma(s.block_m, s.block_n, s.warps, 1, s.stages, choose_splits(p, s.block_m, s.block_n, sms)));
    return out;
}

}  // namespace flashcore
