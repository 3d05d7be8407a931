// Compare: the same inputs through two variants, each crash-isolated in a probe child; the
// difference between their outputs is computed here, never on a possibly poisoned context.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "flashcore/tools/host_numeric.hpp"
#include "flashcore/tools/probe.hpp"

namespace flashcore {

struct CompareSide {
    std::string variant;  // as asked for (the probe reports the canonical form in result.variant)
    ProbeResult result;
    std::string dump_path;
};

struct CompareReport {
    CompareSide a, b;
    std::uint64_t seed = 0;
    bool difference_known = false;  // both sides ran and wrote outputs of the same size
    ErrorStats difference;          // |o_a - o_b| element-wise
    std::string note;               // why the difference is unknown, if it is
    bool ok() const { return a.result.verdict == Verdict::ok && b.result.verdict == Verdict::ok && difference_known; }
};

// Runs `a` and `b` as probes on the same inputs (base.seed must be non-zero) with --dump
// into `scratch_dir` (which must exist), then reads both dumps and compares them here.
// `b` may be the word "reference" (the reference_attention template).
CompareReport compare_variants(const std::string& a, const std::string& b, ProbeRunner& runner, const ProbeRequest& base,
                               const std::string& scratch_dir);

// A float32 file as written by `flashcore probe --dump`; throws Error(io) if unreadable.
std::vector<float> read_float32_file(const std::string& path);

}  // namespace flashcore
