// Runs attention variants on one problem the way every check in this project must: fresh
// random inputs, outputs poisoned with NaN before each checked launch, and a reference in
// higher precision (CPU fp64 for small problems, the reference_attention template in fp32
// on the GPU otherwise). Also times variants (events around eager launches and around
// CUDA-graph replays). Not thread-safe; one harness per thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "flashcore/tools/host_numeric.hpp"
#include "flashcore/runtime.hpp"

namespace flashcore {

enum class ReferenceKind { automatic, cpu, gpu };

struct RunOptions {
    bool verify = true;
    ReferenceKind reference = ReferenceKind::automatic;
    int warmup = 3;
    int eager_iterations = 0;  // 0: no eager timing
    int graph_calls = 0;       // 0: no graph timing; else calls captured per graph
    int repetitions = 7;       // timings taken; the median is reported
    CompileOptions compile;
};

struct RunReport {
    std::string variant;
    std::string key;
    std::string cache_source;  // memory | disk | compiled
    double lookup_ms = 0;
    LaunchDims dims;
    int registers = 0;
    int static_smem = 0;
    double us_eager = -1;  // per call, median
    double us_graph = -1;  // per call inside a replayed graph, median
    double us_graph_min = -1, us_graph_max = -1;  // spread of the graph timings
    // Verification (when asked): what was compared, against what, and the verdict.
    bool verified = false;
    std::string compared;   // "o", "o+lse", "S (stage=qk)", "P (stage=softmax)"
    std::string reference;  // "cpu-fp64" | "gpu-reference-f32"
    ErrorStats error;
    ErrorStats lse_error;
    double tolerance = 0;
    bool passed = false;
};

class AttentionHarness {
public:
    // Allocates device buffers and draws inputs from `seed`. Throws bad_problem for a bad
    // problem and no_driver / no_device without a GPU.
    AttentionHarness(Runtime& runtime, AttentionProblem problem, std::uint64_t seed, int device = 0);
    ~AttentionHarness();

    const AttentionProblem& problem() const { return problem_; }
    std::uint64_t seed() const { return seed_; }
    const AttentionInputs& inputs() const { return inputs_; }

    // Loads (compiling if needed), checks the problem against the variant, launches, verifies
    // and times as `options` say. Kernel faults and resource errors propagate as Error.
    RunReport run(const Variant& variant, const RunOptions& options);

    // The last run's output, decoded to float.
    std::vector<float> output() const;
    // The reference output of this problem (computed once).
    const std::vector<double>& reference_output(ReferenceKind kind = ReferenceKind::automatic);
    std::string reference_name(ReferenceKind kind) const;

private:
    struct Buffers;
    bool use_cpu_reference(ReferenceKind kind) const;
    void compute_reference(ReferenceKind kind);

    Runtime& runtime_;
    AttentionProblem problem_;
    std::uint64_t seed_;
    int device_;
    AttentionInputs inputs_;
    std::unique_ptr<Buffers> buffers_;
    std::optional<ReferenceKind> reference_kind_;
    std::vector<double> reference_o_;
    std::vector<double> reference_lse_;
};

// A fresh seed for "fresh random inputs each run" (printed so a failure can be replayed).
std::uint64_t fresh_seed();

}  // namespace flashcore
