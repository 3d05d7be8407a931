// Tuning records: one per (template digest, variant, problem bucket, dtype, mask, arch, NVRTC
// version), as JSON lines in the cache folder. Data that `auto` reads; `flashcore tune`
// (tools/tune.hpp) writes them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "flashcore/attention.hpp"
#include "flashcore/compile.hpp"
#include "flashcore/selection/verdict.hpp"

namespace flashcore {

class Runtime;

// Shapes that share a tuned choice: "d64-sq512-skv512-bh8-mha". Lengths round up to a power of
// two (Sq = 1, decode, stays 1); B*Hq rounds up to a power of two; GQA is its own class.
std::string problem_bucket(const AttentionProblem& problem);

struct TuneKey {
    std::string template_id;
    std::string template_digest;  // content of the template, its schema and headers
    std::string bucket;
    std::string dtype;  // f16 | bf16
    std::string mask;   // causal | full
    std::string arch;   // sm_90, sm_90a...
    std::string nvrtc;

    // <root>/<template>/<arch>/nvrtc-<v>/<digest16>/<bucket>.<dtype>.<mask>.jsonl
    std::string file_path(const std::string& root) const;
};

struct TuneRecord {
    std::string variant;  // canonical
    Verdict verdict = Verdict::ok;
    double us_median = -1;  // per call, CUDA-graph replay, median of 7
    double us_min = -1, us_max = -1;
    double max_abs_err = -1;
    std::string problem;  // the exact problem it was timed on (AttentionProblem::to_string)
    std::string message;
    std::string device;
    std::int64_t measured_unix_ms = 0;

    double spread() const { return us_median > 0 ? (us_max - us_min) / us_median : 0; }
};

// JSON-lines files under <cache dir>/v1/tune. Appends are single small writes (O_APPEND), so
// an interrupted tune leaves whole lines; a damaged line is skipped with one warning.
class TuneStore {
public:
    explicit TuneStore(std::string cache_dir);
    const std::string& root() const { return root_; }
    std::vector<TuneRecord> load(const TuneKey& key) const;  // later lines win per variant
    bool append(const TuneKey& key, const TuneRecord& record) const;  // false (logged) if unwritable
    std::optional<TuneRecord> best(const TuneKey& key) const;  // fastest ok record

private:
    std::string root_;
};

// The tune key of a problem for one template on one target (renders the template for its
// digest). Throws Error(bad_problem) when no variant of the template takes the problem's bound
// fields (an unsupported head dim); try_tune_key answers nullopt and why instead.
TuneKey tune_key(Runtime& runtime, const std::string& template_id, const AttentionProblem& problem, const Target& target);
std::optional<TuneKey> try_tune_key(Runtime& runtime, const std::string& template_id, const AttentionProblem& problem,
                                    const Target& target, std::string* why = nullptr);

}  // namespace flashcore
