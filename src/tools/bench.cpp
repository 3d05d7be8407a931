#include "flashcore/tools/bench.hpp"

#include "flashcore/error.hpp"
#include "tools/json_codec.hpp"

namespace flashcore {

namespace {

AttentionProblem shape(int B, int Hq, int Hkv, int Sq, int Skv, int D, bool causal) {
    AttentionProblem p;
    p.B = B, p.Hq = Hq, p.Hkv = Hkv, p.Sq = Sq, p.Skv = Skv, p.D = D, p.causal = causal;
    return p;
}

}  // namespace

const std::vector<std::string>& bench_set_names() {
    static const std::vector<std::string> kNames = {"mission", "small", "sweep", "all"};
    return kNames;
}

std::vector<AttentionProblem> bench_shape_set(const std::string& name) {
    // Mirrors shape_sets() of ../shared/bench/sdpa_anchor.py.
    std::vector<AttentionProblem> mission = {shape(1, 8, 8, 512, 512, 64, false), shape(1, 8, 8, 512, 512, 64, true)};
    std::vector<AttentionProblem> small = {shape(1, 8, 8, 1024, 1024, 64, false),   shape(1, 8, 8, 2048, 2048, 64, false),
                                           shape(1, 32, 32, 512, 512, 128, false),  shape(4, 16, 16, 1024, 1024, 64, false),
                                           shape(1, 32, 8, 1000, 1000, 128, true),  shape(2, 16, 16, 1, 4096, 128, false)};
    std::vector<AttentionProblem> sweep;  // B*S = 16k tokens, H*D = 2048, as in the FlashAttention papers
    for (int d : {64, 128})
        for (int s : {512, 1024, 2048, 4096, 8192, 16384})
            for (bool c : {false, true}) sweep.push_back(shape(16384 / s, 2048 / d, 2048 / d, s, s, d, c));
    if (name == "mission") return mission;
    if (name == "small") return small;
    if (name == "sweep") return sweep;
    if (name == "all") {
        std::vector<AttentionProblem> all = mission;
        all.insert(all.end(), small.begin(), small.end());
        all.insert(all.end(), sweep.begin(), sweep.end());
        return all;
    }
    fail(Stage::validate, ErrorCode::bad_input, "bench set '" + name + "' is not one of: mission, small, sweep, all");
}

std::string bench_row_json(const BenchRow& row) { return nlohmann::json(row).dump(); }

}  // namespace flashcore
