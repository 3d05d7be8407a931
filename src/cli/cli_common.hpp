// Shared plumbing of the `flashcore` command line: global options, the lazily created
// runtime, exit codes, the flags verbs share and small formatting helpers.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "flashcore/attention.hpp"
#include "flashcore/compile.hpp"
#include "flashcore/error.hpp"
#include "flashcore/runtime.hpp"
#include "flashcore/tools/probe.hpp"
#include "flashcore/tools/progress.hpp"

namespace flashcore::cli {

// 0 ok, 1 the work failed (compile error, mismatch, fault), 2 bad usage or input.
inline constexpr int kOk = 0;
inline constexpr int kWorkFailed = 1;
inline constexpr int kBadInput = 2;

struct Context {
    std::vector<std::string> template_dirs;
    std::string cache_dir;
    std::string log_level;
    bool verbose = false;
    bool json = false;  // --json given: errors also go to stdout as one JSON object
    int exit_code = kOk;

    // Built on first use, after the command line has been parsed.
    Runtime& runtime();
    Config config() const;
    // What child processes (`flashcore probe`) must see of this process's global options.
    std::map<std::string, std::string> probe_env() const;

private:
    std::unique_ptr<Runtime> runtime_;
};

// Compile flags shared by build/run/compare/bench...
struct CompileFlags {
    std::vector<std::string> allow_warnings;
    std::vector<std::string> promote_warnings;
    std::vector<std::string> nvrtc_flags;
    bool debug = false;
    bool no_lineinfo = false;
    void add_to(CLI::App& app);
    CompileOptions options() const;  // throws Error(bad_input) for bad flags
};

// Problem flags shared by run/compare/bench...
struct ProblemFlags {
    std::string shape;
    std::string dtype = "f16";
    bool causal = false;
    bool lse = false;
    float scale = 0.f;
    void add_to(CLI::App& app, bool shape_required);
    AttentionProblem problem() const;  // throws Error(bad_input), Error(bad_problem)
};

// Flags of the verbs that run probe children (compare, bisect): seed, time limit, GPU and
// the program to run as the child.
struct ProbeFlags {
    std::uint64_t seed = 0;
    double timeout_s = 120;
    int device = 0;
    std::string probe_executable;
    void add_to(CLI::App& app);
    // The request every probe starts from (seed fresh when not given; variant left empty).
    ProbeRequest base_request(const AttentionProblem& problem, const CompileOptions& compile, const Context& context) const;
    std::string executable() const;  // --probe-executable, else ProcessProbeRunner's default
};

// Prints an error the way every verb does (stderr; with --json also a JSON object on stdout)
// and returns its exit code.
int report(const Error& error, const Context& context, bool show_log = false);  // log also without -v
// Runs `body`, mapping flashcore::Error to a printed message and exit code.
int guarded(Context& context, const std::function<int()>& body);

std::string format_us(double us);
std::string format_kb(std::size_t bytes);
std::string format_error(double value);

}  // namespace flashcore::cli
