#include "cli/cli_common.hpp"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "cli/cli_usage.hpp"
#include "flashcore/error.hpp"
#include "flashcore/tools/attention_harness.hpp"

namespace flashcore::cli {

Config Context::config() const {
    Config config = Config::from_env();
    if (!template_dirs.empty()) config.template_dirs = template_dirs;
    if (!cache_dir.empty()) config.cache_dir = cache_dir;
    if (verbose) config.log_level = "info";
    if (!log_level.empty()) config.log_level = log_level;
    return config;
}

Runtime& Context::runtime() {
    if (!runtime_) runtime_ = std::make_unique<Runtime>(config());
    return *runtime_;
}

std::map<std::string, std::string> Context::probe_env() const {
    namespace fs = std::filesystem;
    std::map<std::string, std::string> env;
    std::string dirs;
    for (const auto& d : config().template_dirs)
        dirs += (dirs.empty() ? "" : ":") + fs::absolute(d).lexically_normal().string();
    if (!dirs.empty()) env["FLASHCORE_TEMPLATE_DIR"] = dirs;
    if (!cache_dir.empty()) env["FLASHCORE_CACHE_DIR"] = fs::absolute(cache_dir).lexically_normal().string();
    if (!log_level.empty()) env["FLASHCORE_LOG_LEVEL"] = log_level;
    return env;
}

void CompileFlags::add_to(CLI::App& app) {
    app.add_option("--allow-warning", allow_warnings,
                   "let a promoted compiler warning pass (ids: local-wmma)");
    app.add_option("--promote-warning", promote_warnings, "treat warnings containing this text as errors");
    app.add_option("--nvrtc-opt", nvrtc_flags, "extra NVRTC flag (e.g. -DNAME=1, -maxrregcount=128)");
    app.add_flag("-G,--debug", debug, "device debug build (-G)");
    app.add_flag("--no-lineinfo", no_lineinfo, "omit -lineinfo");
}

CompileOptions CompileFlags::options() const {
    CompileOptions options;
    for (const auto& id : allow_warnings) {
        bool known = false;
        for (const auto& w : default_promoted_warnings()) known |= w.id == id;
        if (!known) fail(Stage::validate, ErrorCode::bad_input, "--allow-warning " + id + ": no promoted warning has that id (known: local-wmma)");
        options.allowed_warnings.push_back(id);
    }
    options.promoted_patterns = promote_warnings;
    for (const auto& flag : nvrtc_flags) options.add_flag(flag);
    if (debug) options.debug = true;
    if (no_lineinfo) options.line_info = false;
    return options;
}

void ProblemFlags::add_to(CLI::App& app, bool shape_required) {
    auto* opt = app.add_option("--shape", shape, "B,Hq,Hkv,Sq,Skv,D, or B,H,S,D, or named: B=1,Hq=32,Hkv=8,Sq=512,Skv=512,D=128");
    if (shape_required) opt->required();
    app.add_option("--dtype", dtype, "f16|float16, bf16|bfloat16, f32|float32")->capture_default_str();
    app.add_flag("--causal", causal, "causal mask, aligned bottom-right when Sq != Skv");
    app.add_flag("--lse", lse, "also compute and check the log-sum-exp output");
    app.add_option("--scale", scale, "softmax scale (default 1/sqrt(D))");
}

AttentionProblem ProblemFlags::problem() const {
    AttentionProblem p = AttentionProblem::from_shape(shape);
    p.dtype = parse_dtype(dtype);
    p.causal = causal;
    p.with_lse = lse;
    p.scale = scale;
    p.validate();
    return p;
}

int report(const Error& error, const Context& context, bool show_log) {
    const ErrorInfo& info = error.info();
    std::cerr << "flashcore: error [" << to_string(info.stage) << "/" << to_string(info.code) << "]: " << error.what()
              << "\n";
    if (!info.log.empty()) {
        if (context.verbose || show_log) std::cerr << "---- compiler log ----\n" << info.log << "\n----------------------\n";
        else std::cerr << "(run with -v to see the full compiler log)\n";
    }
    const int code = error.is_usage_error() ? kBadInput : kWorkFailed;
    if (context.json) print_json_error(error.what(), to_string(info.code), to_string(info.stage), code);
    return code;
}

int guarded(Context& context, const std::function<int()>& body) {
    try {
        return body();
    } catch (const Error& e) {
        return report(e, context);
    }
}

void ProbeFlags::add_to(CLI::App& app) {
    app.add_option("--seed", seed, "input seed for every probe (default: fresh, printed)");
    app.add_option("--timeout", timeout_s, "seconds each probe may take (compile included)")->capture_default_str();
    app.add_option("--device", device, "GPU ordinal")->capture_default_str();
    // Hidden: the program run as `... probe` (default: this one). For tests and mixed builds.
    app.add_option("--probe-executable", probe_executable)->group("");
}

ProbeRequest ProbeFlags::base_request(const AttentionProblem& problem, const CompileOptions& compile,
                                      const Context& context) const {
    if (timeout_s <= 0) fail(Stage::validate, ErrorCode::bad_input, "--timeout must be > 0 seconds");
    ProbeRequest base;
    base.problem = problem;
    base.seed = seed ? seed : fresh_seed();
    base.verify = true;
    base.timeout = std::chrono::milliseconds(static_cast<long long>(timeout_s * 1000));
    base.compile = compile;
    base.device = device;
    base.env = context.probe_env();
    return base;
}

std::string ProbeFlags::executable() const {
    return probe_executable.empty() ? ProcessProbeRunner::default_probe_executable() : probe_executable;
}

std::string format_us(double us) {
    if (us < 0) return "-";
    char buf[32];
    std::snprintf(buf, sizeof buf, us < 100 ? "%.2f" : "%.1f", us);
    return buf;
}

std::string format_kb(std::size_t bytes) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f KB", bytes / 1024.0);
    return buf;
}

std::string format_error(double value) {
    if (std::isinf(value)) return "inf";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3g", value);
    return buf;
}

}  // namespace flashcore::cli
