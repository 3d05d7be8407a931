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
    static const std::vector<std::string> kNames = {"mission", "small", "sweep", "all", "decode", "headdims", "serving"};
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
    // Memory-bound serving shapes: single-token and speculative decode over long KV (GQA 32:8),
    // chunked prefill with few heads.
    std::vector<AttentionProblem> decode = {
        shape(1, 32, 8, 1, 4096, 128, false),  shape(8, 32, 8, 1, 8192, 128, false),
        shape(32, 32, 8, 1, 16384, 128, false), shape(64, 32, 8, 1, 2048, 128, false),
        shape(4, 32, 8, 8, 8192, 128, true),   shape(4, 32, 8, 16, 32768, 128, true),
        shape(1, 8, 1, 256, 8192, 128, true),  shape(1, 16, 2, 512, 16384, 128, true)};
    // Head dims models use besides 64/128.
    std::vector<AttentionProblem> headdims;
    for (int d : {32, 80, 96, 160, 192, 256})
        for (bool c : {false, true}) headdims.push_back(shape(4, 16, 16, 2048, 2048, d, c));
    auto join = [](std::initializer_list<const std::vector<AttentionProblem>*> sets) {
        std::vector<AttentionProblem> all;
        for (const auto* set : sets) all.insert(all.end(), set->begin(), set->end());
        return all;
    };
    if (name == "mission") return mission;
    if (name == "small") return small;
    if (name == "sweep") return sweep;
    if (name == "all") return join({&mission, &small, &sweep});
    if (name == "decode") return decode;
    if (name == "headdims") return headdims;
    if (name == "serving") return join({&decode, &headdims});
    std::string names;
    for (const auto& n : bench_set_names()) names += (names.empty() ? "" : ", ") + n;
    fail(Stage::validate, ErrorCode::bad_input, "bench set '" + name + "' is not one of: " + names);
}

double bench_bytes(const AttentionProblem& p) {
    // Q and O (same shape), K and V each once, in the problem's element type.
    return static_cast<double>(2 * p.q_elements() + 2 * p.kv_elements()) * dtype_bytes(p.dtype);
}

std::string bench_row_json(const BenchRow& row) { return nlohmann::json(row).dump(); }

}  // namespace flashcore
