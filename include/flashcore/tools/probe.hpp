// Crash isolation: variants run on one problem in a child process (`flashcore probe`) with a
// time limit, each returning a typed verdict. A kernel fault kills the CUDA context of its
// process, so anything that runs many variants (bisect, compare, tune) runs each one through a
// probe and never touches a poisoned context itself.
//
// The child gets its request as one JSON document (`flashcore probe --request-json FILE|-`,
// codec in tools/json_codec.hpp) and prints one JSON verdict line per variant.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "flashcore/attention.hpp"
#include "flashcore/compile.hpp"
#include "flashcore/selection/verdict.hpp"

namespace flashcore {

class Error;

// The verdict an error stands for (used inside the child).
Verdict verdict_for(const Error& error);

struct ProbeRequest {
    // What the child runs: the request document.
    std::string variant;  // TEMPLATE[:name=value,...]
    AttentionProblem problem;
    std::uint64_t seed = 0;   // 0: the child draws a fresh one (and reports it)
    bool verify = true;
    bool time = false;        // also time it (CUDA-graph replay and plain launches)
    std::string dump_path;    // write the output (float32, [B,Hq,Sq,D]) here
    CompileOptions compile;   // for compiles done in the child
    int device = 0;           // GPU ordinal
    // How the parent starts the child (not part of the document).
    std::vector<std::string> wrapper;        // e.g. {"compute-sanitizer", "--tool", "memcheck"}
    std::map<std::string, std::string> env;  // added to the inherited environment
    std::chrono::milliseconds timeout{std::chrono::seconds(120)};
};

// One verdict line of the child, plus what the parent saw of the child process.
struct ProbeResult {
    Verdict verdict = Verdict::launch_fault;
    std::string variant;  // canonical, when the child got that far
    std::string message;
    std::uint64_t seed = 0;  // the inputs' seed (0: not reported)
    std::string cache_source;  // memory | disk | compiled
    std::string key;           // cache key of the cubin
    double max_abs_err = -1;
    double mean_abs_err = -1;
    long long non_finite = -1;
    double tolerance = -1;
    std::string reference;  // what it was checked against
    std::string compared;   // "o", "o+lse", ...
    double us_graph = -1;
    double us_graph_min = -1, us_graph_max = -1;
    double us_eager = -1;
    std::string error_code, error_stage;  // of the Error behind a failing verdict
    std::string log;                      // its compiler log, if any
    // Parent side (-1: not run as a child).
    int exit_code = -1;
    int signal = 0;
    double wall_ms = -1;
    std::string output;  // the child's stdout + stderr (tail); not serialised
};

// The argv after the executable that makes `flashcore` read a request document on stdin.
std::vector<std::string> probe_stdin_arguments();
// The document for `variants` run on `base` (the batch form of the request codec).
std::string probe_document(const ProbeRequest& base, const std::vector<std::string>& variants);

// Runs probes. An interface so search logic (bisect, tune) can be tested with fakes.
class ProbeRunner {
public:
    virtual ~ProbeRunner() = default;
    virtual ProbeResult run(const ProbeRequest& request) = 0;
};

// Runs `<wrapper> <executable> probe --request-json -` as a child process in its own process
// group, the document on its stdin; kills the whole group at the time limit. Never throws for
// what the child does.
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

// Reads the last verdict line (a line starting with '{' that has a "verdict") of a child's
// stdout into `result`, leaving the fields it does not hold alone. False if there is none.
bool parse_probe_output(const std::string& stdout_text, ProbeResult& result);

}  // namespace flashcore
