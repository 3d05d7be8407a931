// The `auto` heuristic of attention_mma: used when no tuned record covers a problem's bucket.
// Every branch names the measurement it rests on (docs/performance.md has the tables); the
// serving rules (PackGQA decode, split-KV chunked prefill, padded head dims) are reasoned from
// grid fill and marked TO BE MEASURED until an H200 run of tools/serving_device_check.sh.
#include <algorithm>
#include <cmath>

#include "flashcore/selection/families.hpp"

namespace flashcore {

namespace {

int ceil_div(long long a, long long b) { return static_cast<int>((a + b - 1) / b); }

constexpr int kSplitValues[] = {1, 2, 3, 4, 6, 8, 16};

// The split-KV factor that brings a small grid close to one full wave of CTAs without giving
// a split fewer than two K/V tiles (below that the combine costs more than it saves).
int choose_splits(const AttentionProblem& p, int block_m, int block_n, int num_sms) {
    long long ctas = static_cast<long long>(ceil_div(p.Sq, block_m)) * p.Hq * p.B;
    int kv_tiles = ceil_div(p.Skv, block_n);
    int best = 1;
    for (int s : kSplitValues) {
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

// Grid fill of a split-KV launch: `ctas` CTAs before splitting, each sweeping `kv_tiles` K/V
// tiles, `resident` CTAs per SM. A grid of w waves keeps the SMs busy w / ceil(w) of the time;
// take the smallest split whose fill is within 10 % of the best, and never give a split fewer
// than `min_tiles` tiles (each kv group of the CTA needs a couple to pipeline). TO BE MEASURED:
// the 10 % margin and the tile floors are reasoning, not an H200 measurement.
int fill_splits(long long ctas, int kv_tiles, int min_tiles, int resident, int num_sms) {
    const double slots = static_cast<double>(std::max(1, resident)) * std::max(1, num_sms);
    auto fill = [&](int s) {
        double waves = static_cast<double>(ctas) * s / slots;
        return waves / std::ceil(waves);
    };
    double best_fill = 0;
    for (int s : kSplitValues) {
        if (s > 1 && kv_tiles < s * min_tiles) break;
        best_fill = std::max(best_fill, fill(s));
    }
    for (int s : kSplitValues) {
        if (s > 1 && kv_tiles < s * min_tiles) break;
        if (fill(s) >= 0.9 * best_fill) return s;
    }
    return 1;
}

// The head-dim bucket a padded D behaves like: the MMAs run on round_up(D, 16) columns, so a
// D up to 64 gets D=64's tilings, up to 128 D=128's, above that D=256's (its register and
// shared-memory budget is the tightest). D=64, 128, 256 map to themselves: their rules below
// are the measured ones, unchanged.
int head_dim_bucket(int d) { return d <= 64 ? 64 : d <= 128 ? 128 : 256; }

}  // namespace

// Rules in order; the caller takes the first variant that is valid for the problem and fits
// the device. Times quoted are CUDA-graph medians from `flashcore tune` on an H100 (sm_90,
// NVRTC 13.0, 2026-11-24; the records and logs are described in docs/performance.md).
std::vector<VariantRequest> attention_mma_heuristic(const AttentionProblem& p, const DeviceInfo& device) {
    std::vector<VariantRequest> out;
    // Any D that is a multiple of 8 up to 256 (the schema's head_dim values).
    if (p.dtype == DType::f32 || p.D % 8 != 0 || p.D > 256 || device.sm < 80) return out;
    const int sms = std::max(1, device.num_sms);
    const long long heads = static_cast<long long>(p.B) * p.Hq;
    const int group = p.Hkv > 0 && p.Hq % p.Hkv == 0 ? p.Hq / p.Hkv : 1;
    const int bucket = head_dim_bucket(p.D);
    const int d_pad = (p.D + 15) / 16 * 16;

    // Decode and short queries under GQA/MQA (Sq <= 16, Hq > Hkv), TO BE MEASURED: PackGQA puts
    // the G = Hq/Hkv query heads of a KV head into the rows of one tile (Sq * G rows), so K/V
    // stream from HBM once per KV head instead of G times (the H200 run: 0.42-0.52x
    // cuDNN without it). The tile is the smallest that holds the rows: 16 rows (4 warps as
    // kv groups, the measured decode tiling below), 32 rows (4 kv groups of one 32-row warp)
    // or 64 rows (4 row warps x 2 kv groups). The K/V tiles are split over the kv groups and,
    // to fill the grid (132 SMs on the H200, about one 135 KB CTA per SM), over CTAs, keeping
    // at least two 32-key tiles per kv group in each split.
    if (p.Sq <= 16 && group > 1) {
        const long long rows = static_cast<long long>(p.Sq) * group;
        const int stages = d_pad > 128 ? 1 : 2;  // 16 KB per K/V tile and group at D > 128
        int block_m = 16, warps = 4, kv_warps = 4;
        if (rows > 32) block_m = 64, warps = 8, kv_warps = 2;
        else if (rows > 16) block_m = 32;
        const long long ctas = static_cast<long long>(p.B) * p.Hkv * ceil_div(rows, block_m);
        const int splits = fill_splits(ctas, ceil_div(p.Skv, 32), 2 * kv_warps, 1, sms);
        out.push_back(mma(block_m, 32, warps, kv_warps, stages, splits).set("pack_gqa", 1));
        // Half the rings for GPUs with less shared memory (sm_89: 99 KB; the 16-row D=128 form
        // above takes 132 KB).
        if (stages > 1) out.push_back(mma(block_m, 32, warps, kv_warps, 1, splits).set("pack_gqa", 1));
    }
    // Decode and very short prompts (Sq <= 16): one 16-row tile, the K/V tiles split over the
    // 4 warps of the CTA (kv_warps) and over CTAs (splits) until about half the SMs hold a CTA.
    // B=2,Hq=16,Sq=1,Skv=4096,D=128: 16x32, 4 warps / kv 4, stages 2, splits 2 = 28.3 us; the
    // best 64-row tile (64x64, splits 4) 31.9 us.
    if (p.Sq <= 16 && bucket <= 128) {
        int splits = 1;
        for (int s : {2, 4, 8, 16}) {
            if (heads * s > sms / 2 || ceil_div(p.Skv, 32) < 8 * s) break;
            splits = s;
        }
        out.push_back(mma(16, 32, 4, 4, 2, splits));
    }
    // Chunked prefill with few heads (a short query chunk over a long context, Skv >= 4 Sq),
    // TO BE MEASURED: (1, 8/1, 256 -> 8192) gives 16-32 CTAs of 64-128 rows on 132 SMs, and
    // each sweeps all 8192 keys (the run: 137 us against FlashAttention-2's 42.8).
    // 64x64 tiles of 4 warps (about two CTAs per SM at D=128) and split-KV until the grid
    // fills, at least 8 tiles of 64 keys per split.
    if (p.Sq > 16 && p.Skv >= 4LL * p.Sq && static_cast<long long>(ceil_div(p.Sq, 64)) * heads <= sms) {
        const long long ctas = static_cast<long long>(ceil_div(p.Sq, 64)) * heads;
        out.push_back(mma(64, 64, 4, 1, 2, fill_splits(ctas, ceil_div(p.Skv, 64), 8, 2, sms)));
    }
    // Small grids at D=64 (at most half the SMs busy with 64-row tiles): 32-row tiles, 8 warps as
    // 2 row warps x 4 kv groups. Mission shape B=1,H=8,S=512,D=64: 5.40-5.42 us (f16/bf16,
    // causal or not) against 6.60 us for the best 64-row tile and 10.0 us for 128x128; with
    // programmatic dependent launch (sm_90+) 4.94-5.01 us against 5.42-5.51 without (a later
    // tune of the same shape). Short kernels are where the launch gap matters; pdl is not
    // measured on the other rules, so they keep ordinary launches.
    if (bucket == 64 && static_cast<long long>(ceil_div(p.Sq, 64)) * heads <= sms / 2)
        out.push_back(mma(32, 64, 8, 4, 2, 1, device.sm >= 90 ? 1 : 0));
    // D=128 grids that 128-row tiles cannot fill: 64x128 tiles, single-stage ring. B=1,H=32,
    // S=512: 16.7 us against 17.6 (64x64) and 19.8 (best 32-row tile).
    if (bucket == 128 && static_cast<long long>(ceil_div(p.Sq, 128)) * heads <= sms)
        out.push_back(mma(64, 128, 4, 1, 1, 1));

    // Everything else: FlashAttention-2's published sm80/sm90 forward tilings (128-row query
    // tiles, 4 warps of 32 rows; narrower key tiles as D grows so S, P and O fit in registers),
    // which measured >= 1.05x FlashAttention-2 on every sweep row (docs/performance.md). A
    // padded D takes its bucket's tilings (TO BE MEASURED for D = 32, 80, 96, 160, 192 by the
    // headdims bench set; the schema refuses any that would not fit registers or shared memory,
    // and the next shape is tried).
    struct Shape {
        int block_m, block_n, warps, stages;
    };
    std::vector<Shape> shapes;
    if (bucket == 64) shapes = {{128, 128, 4, 2}, {128, 64, 4, 2}, {64, 64, 4, 2}};
    else if (bucket == 128) shapes = {{128, 64, 4, 2}, {128, 32, 4, 2}, {64, 64, 4, 2}};
    else shapes = {{64, 32, 4, 2}, {64, 64, 4, 1}};
    // Small query counts waste most of a 128-row tile.
    if (p.Sq <= 64) std::stable_sort(shapes.begin(), shapes.end(), [](const Shape& a, const Shape& b) { return a.block_m < b.block_m; });
    for (const Shape& s : shapes)
        out.push_back(mma(s.block_m, s.block_n, s.warps, 1, s.stages, choose_splits(p, s.block_m, s.block_n, sms)));
    return out;
}

}  // namespace flashcore
