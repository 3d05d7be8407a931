// Benchmark shapes and rows in the shared bench schema of ../shared/bench/sdpa_anchor.py, so
// compare.py can pair our rows with cuDNN's and FlashAttention-2's.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "flashcore/attention.hpp"

namespace flashcore {

// The sets of sdpa_anchor.py: "mission", "small", "sweep", "all" (= the three), "decode",
// "headdims", "serving" (= decode + headdims); shapes only, causal fixed per entry, dtype
// set by the caller.
std::vector<AttentionProblem> bench_shape_set(const std::string& name);  // throws bad_input for unknown
const std::vector<std::string>& bench_set_names();

// Bytes a call must move at least: Q, K and V read once, O written once (sdpa_anchor.py's
// gbps numerator: GB/s = bench_bytes / us / 1e3).
double bench_bytes(const AttentionProblem& problem);

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
// Sq, Skv, D, causal, us_graph, us_eager, tflops, gbps, max_abs_err, device, plus
// variant/selection/reference.
std::string bench_row_json(const BenchRow& row);

}  // namespace flashcore
