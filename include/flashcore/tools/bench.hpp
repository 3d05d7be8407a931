// Benchmark shapes and rows in the shared bench schema of ../shared/bench/sdpa_anchor.py, so
// compare.py can pair our rows with cuDNN's and FlashAttention-2's.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "flashcore/attention.hpp"

namespace flashcore {

// The sets of sdpa_anchor.py: "mission", "small", "sweep", "all" (shapes only; dtype and
// causal come with each entry where the anchor fixes them).
std::vector<AttentionProblem> bench_shape_set(const std::string& name);  // throws bad_input for unknown
const std::vector<std::string>& bench_set_names();

struct BenchRow {
    std::string impl;     // "flashcore-auto" or "flashcore:<template>"
    std::string variant;  // canonical
    std::string selection;  // tuned | heuristic | explicit | fallback
    AttentionProblem problem;
    double us_graph = -1;
    double us_eager = -1;
    std::optional<double> max_abs_err;
    std::string reference;
    std::string device;
};

// One JSON line (the codec of tools/json_codec.hpp): impl, dtype (torch's name), B, Hq, Hkv,
// Sq, Skv, D, causal, us_graph, us_eager, tflops, max_abs_err, device, plus
// variant/selection/reference.
std::string bench_row_json(const BenchRow& row);

}  // namespace flashcore
