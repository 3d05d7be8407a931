// Crash isolation: one variant on one problem, run in a child process (`flashcore probe`)
// with a time limit, returning a typed verdict. A kernel fault kills the CUDA context of
// its process, so anything that runs many variants (bisect, compare, tune) runs each one
// through a probe and never touches a poisoned context itself.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "flashcore/attention.hpp"

namespace flashcore {

class Error;

enum class Verdict {
    ok,              // ran and matched the reference
    compile_error,   // NVRTC rejected it, or a promoted warning
    resource_error,  // does not fit the device (shared memory, threads) or the problem
    launch_fault,    // the kernel faulted (or the child died)
    mismatch,        // ran, but the result is wrong
    timeout,         // did not finish within the time limit
    invalid,         // not a valid variant (schema constraint); never launched
};
const char* to_string(Verdict verdict);
Verdict parse_verdict(const std::string& text);  // throws Error(bad_input)
// The verdict an error stands for (used inside the child).
Verdict verdict_for(const Error& error);

struct ProbeRequest {
    std::string variant;  // TEMPLATE[:name=value,...]
    AttentionProblem problem;
    std::uint64_t seed = 0;
    bool verify = true;
    bool time = false;                    // also time it (CUDA-graph replay and plain launches)
    std::string dump_path;                // write the output (float32, [B,Hq,Sq,D]) here
    std::vector<std::string> extra_args;  // e.g. {"--allow-warning", "local-wmma"}
    std::vector<std::string> wrapper;     // e.g. {"compute-sanitizer", "--tool", "memcheck"}
    std::map<std::string, std::string> env;  // added to the inherited environment
    std::chrono::milliseconds timeout{std::chrono::seconds(120)};
};

struct ProbeResult {
    Verdict verdict = Verdict::launch_fault;
    std::string variant;  // canonical, when the child got that far
    std::string message;
    double max_abs_err = -1;
    double mean_abs_err = -1;
    double us_graph = -1;
    double us_graph_min = -1, us_graph_max = -1;
    double us_eager = -1;
    std::string cache_source;
    int exit_code = -1;
    int signal = 0;
    double wall_ms = 0;
    std::string output;  // the child's stdout + stderr (tail)
};

// The argv of `flashcore probe` for a request (exposed for repro scripts and tests).
std::vector<std::string> probe_arguments(const ProbeRequest& request);

// Runs probes. An interface so search logic (bisect, tune) can be tested with fakes.
class ProbeRunner {
public:
    virtual ~ProbeRunner() = default;
    virtual ProbeResult run(const ProbeRequest& request) = 0;
};

// Runs `<executable> probe ...` as a child process in its own process group; kills the whole
// group at the time limit. Never throws for what the child does.
class ProcessProbeRunner : public ProbeRunner {
public:
    explicit ProcessProbeRunner(std::string executable = default_probe_executable());
    ProbeResult run(const ProbeRequest& request) override;
    const std::string& executable() const { return executable_; }

    // This program if it is the flashcore CLI, else a `flashcore` next to the library
    // (build tree or installed bin/), else "flashcore" from PATH.
    static std::string default_probe_executable();

private:
    std::string executable_;
};

// Parses the JSON verdict line `flashcore probe` prints (the last line starting with '{').
// Returns false if there is none.
bool parse_probe_output(const std::string& stdout_text, ProbeResult& result);

}  // namespace flashcore
