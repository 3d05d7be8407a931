// Autotuning: time the candidates of a template family on one problem, each crash-isolated,
// and keep one record per (template digest, variant, problem bucket, dtype, mask, arch,
// NVRTC version) in the cache folder. Records are data (JSON lines), read by `auto`.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "flashcore/attention.hpp"
#include "flashcore/compile.hpp"
#include "flashcore/probe.hpp"

namespace flashcore {

class Runtime;
struct DeviceInfo;

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
    std::string problem;  // the exact problem it was timed on
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

// The tune key of a problem for one template on one target.
TuneKey tune_key(Runtime& runtime, const std::string& template_id, const AttentionProblem& problem, const Target& target);

// Runs many variants through as few child processes as possible: one `flashcore probe V1 V2
// ...` at a time; after a fault or a timeout it starts a new child with the rest.
class BatchProber {
public:
    virtual ~BatchProber() = default;
    virtual void run(const std::vector<std::string>& variants, const ProbeRequest& base,
                     const std::function<void(const std::string& variant, const ProbeResult&)>& on_result) = 0;
};

class ProcessBatchProber : public BatchProber {
public:
    explicit ProcessBatchProber(std::string executable = ProcessProbeRunner::default_probe_executable());
    void run(const std::vector<std::string>& variants, const ProbeRequest& base,
             const std::function<void(const std::string& variant, const ProbeResult&)>& on_result) override;

private:
    std::string executable_;
};

struct TuneOptions {
    std::string template_id = "attention_mma";
    std::string pattern;        // candidates, e.g. "attention_mma:splits=1|2"; "" = every valid variant
    std::size_t max_candidates = 0;  // 0 = no limit
    bool retune = false;        // time every candidate again
    std::uint64_t seed = 0;
    std::chrono::milliseconds timeout{std::chrono::seconds(60)};  // per candidate
    CompileOptions compile;                  // for the compiles done in this process
    std::vector<std::string> probe_args;     // the same options as `flashcore probe` flags
    std::map<std::string, std::string> probe_env;  // environment of the probe children
};

struct TuneReport {
    TuneKey key;
    std::string record_file;
    std::vector<TuneRecord> records;  // every candidate's record, reused or new
    std::size_t reused = 0, timed = 0, rejected = 0;
    std::optional<TuneRecord> best;
};

// Candidates of a template for a problem on a device: every valid variant (or the pattern's),
// bound to the problem, that passes the schema's problem checks and fits the device's shared
// memory. `device` facts come from a child process; the caller need not touch the GPU.
std::vector<std::string> tune_candidates(Runtime& runtime, const TuneOptions& options, const AttentionProblem& problem,
                                         const DeviceInfo& device, std::size_t* rejected = nullptr);

// Tunes: compiles the candidates (in parallel, in this process: compile-only), times the ones
// without a record through `prober`, appends a record per candidate as it goes.
TuneReport tune(Runtime& runtime, const AttentionProblem& problem, const DeviceInfo& device, const TuneOptions& options,
                BatchProber& prober, const std::function<void(const TuneRecord&, std::size_t done, std::size_t total)>& progress = {});

// Device facts read by a child (`flashcore devices --json`), so the caller never initialises
// CUDA. Throws Error(no_driver / no_device) with the child's reason.
DeviceInfo query_device_in_child(const std::string& executable, int ordinal = 0);

}  // namespace flashcore
