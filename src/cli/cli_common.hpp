// Shared plumbing of the `flashcore` command line: global options, the lazily created
// runtime, exit codes, progress lines and small formatting helpers.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "flashcore/attention.hpp"
#include "flashcore/error.hpp"
#include "flashcore/compile.hpp"
#include "flashcore/runtime.hpp"

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
    // The same flags as `flashcore probe` arguments (`--opt=value`, so values may start with '-').
    std::vector<std::string> probe_args() const;
};

// Problem flags shared by run/compare/bench...
struct ProblemFlags {
    std::string shape;
    std::string dtype = "f16";
    bool causal = false;
    bool lse = false;
    float scale = 0.f;
    void add_to(CLI::App& app, bool shape_required);
    AttentionProblem problem() const;  // throws Error(bad_input)
};

// Prints an error the way every verb does and returns its exit code.
int report(const Error& error, bool show_log);
// Runs `body`, mapping flashcore::Error to a printed message and exit code.
int guarded(Context& context, const std::function<int()>& body);

bool stderr_is_terminal();
// One-line progress on stderr when it is a terminal ("[3/40] label"), nothing when piped.
class Progress {
public:
    Progress(std::size_t total, std::string what);
    void step(const std::string& label);
    void done();

private:
    std::size_t total_;
    std::size_t count_ = 0;
    std::string what_;
    bool enabled_;
};

std::string format_us(double us);
std::string format_kb(std::size_t bytes);
std::string format_error(double value);

}  // namespace flashcore::cli
