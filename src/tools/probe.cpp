#include "flashcore/tools/probe.hpp"

#include <dlfcn.h>

#include <cstring>
#include <filesystem>

#include "flashcore/error.hpp"
#include "tools/child_process.hpp"
#include "tools/json_codec.hpp"

namespace flashcore {

namespace fs = std::filesystem;
using json = nlohmann::json;

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
        case ErrorCode::no_driver:
            return Verdict::no_driver;
        case ErrorCode::no_device:
            return Verdict::no_device;
        default:
            return Verdict::launch_fault;
    }
}

std::vector<std::string> probe_stdin_arguments() { return {"probe", "--request-json", "-"}; }

std::string probe_document(const ProbeRequest& base, const std::vector<std::string>& variants) {
    json doc = base;
    doc["variants"] = variants;
    return doc.dump();
}

bool parse_probe_output(const std::string& text, ProbeResult& result) {
    size_t end = text.size();
    while (end > 0) {
        size_t start = text.rfind('\n', end - 1);
        start = start == std::string::npos ? 0 : start + 1;
        std::string line = text.substr(start, end - start);
        if (!line.empty() && line[0] == '{') {
            try {
                json j = json::parse(line);
                if (j.contains("verdict")) {
                    from_json(j, result);
                    return true;
                }
            } catch (const std::exception&) {  // not a verdict line; keep looking
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
    for (auto& a : probe_stdin_arguments()) argv.push_back(a);
    detail::ChildOutcome child =
        detail::run_child(argv, request.env, request.timeout, {}, probe_document(request, {request.variant}));
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
