#include "flashcore/probe.hpp"

#include <dlfcn.h>

#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "child_process.hpp"
#include "flashcore/error.hpp"

namespace flashcore {

namespace fs = std::filesystem;

const char* to_string(Verdict verdict) {
    switch (verdict) {
        case Verdict::ok: return "ok";
        case Verdict::compile_error: return "compile_error";
        case Verdict::resource_error: return "resource_error";
        case Verdict::launch_fault: return "launch_fault";
        case Verdict::mismatch: return "mismatch";
        case Verdict::timeout: return "timeout";
        case Verdict::invalid: return "invalid";
    }
    return "?";
}

Verdict parse_verdict(const std::string& text) {
    for (Verdict v : {Verdict::ok, Verdict::compile_error, Verdict::resource_error, Verdict::launch_fault,
                      Verdict::mismatch, Verdict::timeout, Verdict::invalid})
        if (text == to_string(v)) return v;
    fail(Stage::validate, ErrorCode::bad_input, "unknown verdict '" + text + "'");
}

Verdict verdict_for(const Error& error) {
    switch (error.code()) {
        case ErrorCode::compile_failed:
        case ErrorCode::warning_promoted:
        case ErrorCode::jit_forbidden:
            return Verdict::compile_error;
        case ErrorCode::resource_exceeded:
        case ErrorCode::bad_problem:
            return Verdict::resource_error;
        case ErrorCode::bad_input:
            return Verdict::invalid;
        case ErrorCode::timeout:
            return Verdict::timeout;
        default:
            return Verdict::launch_fault;
    }
}

std::vector<std::string> probe_arguments(const ProbeRequest& r) {
    const AttentionProblem& p = r.problem;
    std::vector<std::string> args = {"probe", r.variant, "--shape",
                                     std::to_string(p.B) + "," + std::to_string(p.Hq) + "," + std::to_string(p.Hkv) + "," +
                                         std::to_string(p.Sq) + "," + std::to_string(p.Skv) + "," + std::to_string(p.D),
                                     "--dtype", to_string(p.dtype), "--seed", std::to_string(r.seed)};
    if (p.causal) args.push_back("--causal");
    if (p.with_lse) args.push_back("--lse");
    if (p.scale != 0.f) args.insert(args.end(), {"--scale", std::to_string(p.scale)});
    if (!r.verify) args.push_back("--no-verify");
    if (r.time) args.push_back("--time");
    if (!r.dump_path.empty()) args.insert(args.end(), {"--dump", r.dump_path});
    args.insert(args.end(), r.extra_args.begin(), r.extra_args.end());
    return args;
}

bool parse_probe_output(const std::string& text, ProbeResult& result) {
    size_t end = text.size();
    while (end > 0) {
        size_t start = text.rfind('\n', end - 1);
        start = start == std::string::npos ? 0 : start + 1;
        std::string line = text.substr(start, end - start);
        if (!line.empty() && line[0] == '{') {
            try {
                auto j = nlohmann::json::parse(line);
                result.verdict = parse_verdict(j.at("verdict").get<std::string>());
                result.variant = j.value("variant", "");
                result.message = j.value("message", "");
                result.max_abs_err = j.value("max_abs_err", -1.0);
                result.mean_abs_err = j.value("mean_abs_err", -1.0);
                result.us_graph = j.value("us_graph", -1.0);
                result.us_graph_min = j.value("us_graph_min", -1.0);
                result.us_graph_max = j.value("us_graph_max", -1.0);
                result.us_eager = j.value("us_eager", -1.0);
                result.cache_source = j.value("source", "");
                return true;
            } catch (const std::exception&) {
                // not a verdict line; keep looking
            }
        }
        if (start == 0) break;
        end = start - 1;
    }
    return false;
}

std::string ProcessProbeRunner::default_probe_executable() {
    std::error_code ec;
    fs::path self = fs::read_symlink("/proc/self/exe", ec);
    if (!ec && self.filename() == "flashcore") return self.string();
    Dl_info info{};
    if (dladdr(reinterpret_cast<void*>(&parse_probe_output), &info) != 0 && info.dli_fname) {
        fs::path lib = fs::canonical(info.dli_fname, ec).parent_path();
        for (const fs::path& candidate : {lib / "flashcore", lib / ".." / "bin" / "flashcore"})
            if (fs::exists(candidate, ec)) return fs::canonical(candidate, ec).string();
    }
    return "flashcore";
}

ProcessProbeRunner::ProcessProbeRunner(std::string executable) : executable_(std::move(executable)) {}

ProbeResult ProcessProbeRunner::run(const ProbeRequest& request) {
    ProbeResult result;
    std::vector<std::string> argv = request.wrapper;
    argv.push_back(executable_);
    for (auto& a : probe_arguments(request)) argv.push_back(a);
    detail::ChildOutcome child = detail::run_child(argv, request.env, request.timeout);
    result.wall_ms = child.wall_ms;
    result.exit_code = child.exit_code;
    result.signal = child.signal;
    result.output = child.stdout_tail + (child.stderr_tail.empty() ? "" : "\n[stderr]\n" + child.stderr_tail);
    if (child.spawn_failed) {
        result.message = "cannot start the probe: " + child.stderr_tail;
        return result;
    }
    bool answered = parse_probe_output(child.stdout_tail, result);
    if (child.timed_out) {
        result.verdict = Verdict::timeout;
        result.message = "no answer within " + std::to_string(request.timeout.count()) + " ms; the probe was killed";
    } else if (!answered) {
        result.verdict = Verdict::launch_fault;
        result.message = result.signal ? "the probe died with signal " + std::to_string(result.signal) + " (" +
                                             strsignal(result.signal) + ")"
                                       : "the probe exited with code " + std::to_string(result.exit_code) +
                                             " without a verdict";
    }
    return result;
}

}  // namespace flashcore
