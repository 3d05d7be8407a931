// Autotuning: time the candidates of a template family on one problem, each crash-isolated,
// and keep one record per candidate in the tuning-record store (selection/tune_store.hpp) that
// `auto` reads.
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
#include "flashcore/device_info.hpp"
#include "flashcore/selection/tune_store.hpp"
#include "flashcore/tools/probe.hpp"

namespace flashcore {

class Runtime;

// Runs many variants through as few child processes as possible: one `flashcore probe` with a
// request document listing them all at a time; after a fault or a timeout it starts a new
// child with the rest.
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
    std::string template_id;    // the family to tune; "": default_tune_family()
    std::string pattern;        // candidates, e.g. "attention_mma:splits=1|2"; "" = every valid variant
    std::size_t max_candidates = 0;  // 0 = no limit
    bool retune = false;        // time every candidate again
    std::uint64_t seed = 0;
    std::chrono::milliseconds timeout{std::chrono::seconds(60)};  // per candidate
    CompileOptions compile;     // for the compiles here and in the probe children
    std::map<std::string, std::string> probe_env;  // environment of the probe children
};

struct TuneReport {
    TuneKey key;
    std::string record_file;
    std::vector<TuneRecord> records;  // every candidate's record, reused or new
    std::size_t reused = 0, timed = 0, rejected = 0;
    std::optional<TuneRecord> best;
};

// The highest-ranked `auto` family whose schema admits the device's sm (min_sm..max_sm),
// preferring, when a problem is given, families whose heuristic proposes a variant for it.
// Throws Error(bad_input) when none does.
std::string default_tune_family(Runtime& runtime, const DeviceInfo& device, const AttentionProblem* problem = nullptr);

// Candidates of a template for a problem on a device: every valid variant (or the pattern's),
// bound to the problem, that can_implement accepts. `device` facts come from a child process;
// the caller need not touch the GPU.
std::vector<std::string> tune_candidates(Runtime& runtime, const TuneOptions& options, const AttentionProblem& problem,
                                         const DeviceInfo& device, std::size_t* rejected = nullptr);

// Tunes: compiles the candidates (in parallel, in this process: compile-only), times the ones
// without a record through `prober`, appends a record per candidate as it goes.
TuneReport tune(Runtime& runtime, const AttentionProblem& problem, const DeviceInfo& device, const TuneOptions& options,
                BatchProber& prober, const std::function<void(const TuneRecord&, std::size_t done, std::size_t total)>& progress = {});

}  // namespace flashcore
