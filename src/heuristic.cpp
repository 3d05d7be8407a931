// The `auto` heuristic: used when no tuned record covers a problem's bucket. Every branch
// names the measurement it rests on (docs/performance.md has the tables).
#include <algorithm>

#include "flashcore/driver.hpp"
#include "flashcore/selection.hpp"

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

}  // namespace

std::vector<std::string> heuristic_variants(const AttentionProblem& p, const DeviceInfo& device) {
    std::vector<std::string> out;
    if (p.dtype == DType::f32 || (p.D != 64 && p.D != 128 && p.D != 256) || device.sm < 80) return out;
    const int sms = std::max(1, device.num_sms);
    // Tile shapes follow FlashAttention-2's published choices for sm80/sm90 forward (128-row
    // query tiles, 4 warps of 32 rows; narrower key tiles as D grows so S, P and O fit in
    // registers) until our own tuning tables replace them.
    struct Shape {
        int block_m, block_n, warps, stages;
    };
    std::vector<Shape> shapes;
    if (p.D == 64) shapes = {{128, 128, 4, 2}, {128, 64, 4, 2}, {64, 64, 4, 2}};
    else if (p.D == 128) shapes = {{128, 64, 4, 2}, {128, 32, 4, 2}, {64, 64, 4, 2}};
    else shapes = {{64, 32, 4, 2}, {64, 64, 4, 1}};
    // Small query counts (decode, short prompts) waste most of a 128-row tile.
    if (p.Sq <= 64) std::stable_sort(shapes.begin(), shapes.end(), [](const Shape& a, const Shape& b) { return a.block_m < b.block_m; });
    for (const Shape& s : shapes) {
        int splits = choose_splits(p, s.block_m, s.block_n, sms);
        out.push_back("attention_mma:block_m=" + std::to_string(s.block_m) + ",block_n=" + std::to_string(s.block_n) +
                      ",warps=" + std::to_string(s.warps) + ",stages=" + std::to_string(s.stages) +
                      ",splits=" + std::to_string(splits));
    }
    return out;
}

}  // namespace flashcore
