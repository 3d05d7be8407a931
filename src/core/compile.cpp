#include "flashcore/compile.hpp"

#include <algorithm>
#include <chrono>
#include <regex>
#include <set>

#include "core/nvrtc_api.hpp"
#include "flashcore/error.hpp"

namespace flashcore {

std::string Target::to_string() const { return "sm_" + std::to_string(sm) + (arch_specific ? "a" : ""); }

Target Target::parse(const std::string& text) {
    static const std::regex kForm(R"(^(?:sm_|compute_)?(\d)\.?(\d+)(a?)$)");
    std::smatch m;
    if (!std::regex_match(text, m, kForm))
        fail(Stage::validate, ErrorCode::bad_input,
             "arch '" + text + "' is not a target; write it like sm_89, sm_90 or sm_90a");
    // Two or three digits, no leading zero: sm_50..sm_121 today; anything else is a typo.
    const std::string digits = m[1].str() + m[2].str();
    if (digits.size() > 3 || digits[0] == '0')
        fail(Stage::validate, ErrorCode::bad_input,
             "arch '" + text + "': SM number " + digits + " is out of range (10..999); write it like sm_89, sm_90 or sm_90a");
    Target t;
    t.sm = std::stoi(digits);
    t.arch_specific = !m[3].str().empty();
    return t;
}

Target target_for(const TemplateSchema& schema, Target requested) {
    if (schema.arch_suffix == "a" && requested.sm >= 90) requested.arch_specific = true;
    return requested;
}

const std::vector<PromotedWarning>& default_promoted_warnings() {
    static const std::vector<PromotedWarning> kList = {
        {"local-wmma", "cannot perform wmma load or store on local memory",
         "a WMMA load/store on a per-thread local array is undefined and faults at run time "
         "(the seed project's 64x32 'unspecified launch failure'); keep WMMA tiles in shared or global memory"},
        {"setmaxnreg-ignored", "'setmaxnreg' ignored",
         "ptxas C7508: the register reallocation between producer and consumer warpgroups did not happen, so "
         "the consumers run with the launch's even share and spill or stall; the kernel needs "
         "__launch_bounds__(threads, 1) and a register count known at entry"},
        {"wgmma-serialized", "wgmma.mma_async instructions are serialized",
         "ptxas C7513: the warpgroup MMAs run one at a time (an accumulator or operand register is touched while "
         "an MMA is in flight), which costs most of the tensor-core throughput; keep accumulators untouched "
         "between wgmma.fence and wgmma.wait_group"},
    };
    return kList;
}

std::string CompileOptions::canonical() const {
    bool lineinfo_effective = line_info && !debug;
    std::string out = "std=c++17;lineinfo=" + std::to_string(lineinfo_effective) + ";debug=" + std::to_string(debug) +
                      ";fast_math=" + std::to_string(fast_math) + ";maxrreg=" + std::to_string(max_registers);
    out += ";defines=";
    for (size_t i = 0; i < defines.size(); ++i) out += (i ? "," : "") + defines[i];
    out += ";extra=";
    for (size_t i = 0; i < extra.size(); ++i) out += (i ? " " : "") + extra[i];
    return out;
}

std::vector<std::string> CompileOptions::nvrtc_arguments(const Target& target, const Toolkit& toolkit) const {
    // --no-cache: NVRTC 13 keeps its own cubin cache (~/.nv/ComputeCache) and a hit there
    // returns an empty log — no ptxas resource report and, worse, no warnings to promote
    // (seen on the H100 machine: the second process compiling local_wmma got no warning).
    // FlashCore's cache is the one that counts, so NVRTC always really compiles.
    std::vector<std::string> args = {"--gpu-architecture=" + target.to_string(), "--std=c++17",
                                     "--ptxas-options=-v", "--no-cache"};
    if (debug) args.push_back("--device-debug");
    else if (line_info) args.push_back("--generate-line-info");
    if (fast_math) args.push_back("--use_fast_math");
    if (max_registers > 0) args.push_back("--maxrregcount=" + std::to_string(max_registers));
    for (const auto& d : defines) args.push_back("--define-macro=" + d);
    for (const auto& dir : toolkit.include_dirs()) args.push_back("--include-path=" + dir);
    for (const auto& e : extra) args.push_back(e);
    return args;
}

void CompileOptions::add_flag(const std::string& flag) {
    auto value_after = [&](const std::string& prefix) { return flag.substr(prefix.size()); };
    auto starts = [&](const std::string& prefix) { return flag.rfind(prefix, 0) == 0; };
    if (flag == "-G" || flag == "--device-debug") debug = true;
    else if (flag == "-lineinfo" || flag == "--generate-line-info") line_info = true;
    else if (flag == "-use_fast_math" || flag == "--use_fast_math") fast_math = true;
    else if (starts("-maxrregcount=") || starts("--maxrregcount=")) {
        std::string v = value_after(starts("--") ? "--maxrregcount=" : "-maxrregcount=");
        try {
            max_registers = std::stoi(v);
        } catch (const std::exception&) {
            fail(Stage::validate, ErrorCode::bad_input, "compile flag '" + flag + "' needs a register count");
        }
    } else if (starts("--define-macro=")) defines.push_back(value_after("--define-macro="));
    else if (starts("-D") && flag.size() > 2) defines.push_back(value_after("-D"));
    else if (starts("-arch") || starts("--gpu-architecture") || starts("-I") || starts("--include-path") ||
             starts("-o") || flag == "--ptxas-options=-v")
        fail(Stage::validate, ErrorCode::bad_input,
             "compile flag '" + flag + "' is managed by flashcore (use --arch for the target; include folders are found automatically)");
    else extra.push_back(flag);
}

std::vector<std::string> extract_warnings(const std::string& log) {
    std::vector<std::string> out;
    std::set<std::string> seen;
    size_t pos = 0;
    while (pos < log.size()) {
        size_t end = log.find('\n', pos);
        std::string line = log.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
        std::string lower = line;
        std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
        // ptxas reports some real performance bugs as "info" lines (C7508: setmaxnreg ignored,
        // C7513: wgmma serialized), so those count as warnings too.
        bool is_warning = lower.find("warning") != std::string::npos && lower.rfind("ptxas info", 0) != 0;
        bool is_performance_loss = lower.find("potential performance loss") != std::string::npos;
        if ((is_warning || is_performance_loss) && seen.insert(line).second) out.push_back(line);
        if (end == std::string::npos) break;
        pos = end + 1;
    }
    return out;
}

ResourceUsage parse_resource_usage(const std::string& log, const std::string& function) {
    static const std::regex kEntry(R"(Compiling entry function '([^']+)')");
    static const std::regex kProps(R"(Function properties for (\S+))");
    static const std::regex kFrame(R"((\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads)");
    static const std::regex kUsed(R"(Used (\d+) registers)");
    static const std::regex kBarriers(R"(used (\d+) barriers)");
    static const std::regex kSmem(R"((\d+) bytes smem)");
    ResourceUsage usage;
    std::string current;
    size_t pos = 0;
    while (pos < log.size()) {
        size_t end = log.find('\n', pos);
        std::string line = log.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
        std::smatch m;
        if (std::regex_search(line, m, kEntry)) current = m[1];
        else if (std::regex_search(line, m, kProps)) current = m[1];
        else if (current == function) {
            if (std::regex_search(line, m, kFrame)) {
                usage.stack_bytes = std::stoi(m[1]);
                usage.spill_store_bytes = std::stoi(m[2]);
                usage.spill_load_bytes = std::stoi(m[3]);
                usage.parsed = true;
            }
            if (std::regex_search(line, m, kUsed)) {
                usage.registers = std::stoi(m[1]);
                usage.parsed = true;
                if (std::regex_search(line, m, kBarriers)) usage.barriers = std::stoi(m[1]);
                if (std::regex_search(line, m, kSmem)) usage.static_shared_bytes = std::stoi(m[1]);
            }
        }
        if (end == std::string::npos) break;
        pos = end + 1;
    }
    return usage;
}

namespace {

// Owns an nvrtcProgram so every exit path destroys it.
struct Program {
    const detail::NvrtcApi& api;
    nvrtcProgram handle = nullptr;
    ~Program() {
        if (handle) api.nvrtcDestroyProgram(&handle);
    }
};

std::string program_log(const detail::NvrtcApi& api, nvrtcProgram program) {
    size_t size = 0;
    if (api.nvrtcGetProgramLogSize(program, &size) != NVRTC_SUCCESS || size == 0) return {};
    std::string log(size, '\0');
    if (api.nvrtcGetProgramLog(program, log.data()) != NVRTC_SUCCESS) return {};
    while (!log.empty() && (log.back() == '\0' || log.back() == '\n')) log.pop_back();
    return log;
}

std::string first_error_line(const std::string& log) {
    size_t pos = log.find("error");
    if (pos == std::string::npos) return log.substr(0, log.find('\n'));
    size_t start = log.rfind('\n', pos);
    start = start == std::string::npos ? 0 : start + 1;
    return log.substr(start, log.find('\n', pos) - start);
}

[[noreturn]] void nvrtc_failure(const detail::NvrtcApi& api, nvrtcResult rc, const std::string& what,
                                const std::string& log, const std::string& variant, const Target& target) {
    ErrorInfo info;
    info.stage = Stage::compile;
    info.code = ErrorCode::compile_failed;
    info.native = rc;
    info.message = what + ": " + api.nvrtcGetErrorString(rc) + (log.empty() ? "" : " — " + first_error_line(log));
    info.log = log;
    info.variant = variant;
    info.arch = target.to_string();
    throw Error(std::move(info));
}

}  // namespace

Compiled compile(const Source& source, const CompileOptions& options, const Target& target, const Toolkit& toolkit,
                 const std::string& variant_text) {
    const std::vector<int>& supported = toolkit.supported_sms();
    if (!supported.empty() && std::find(supported.begin(), supported.end(), target.sm) == supported.end()) {
        std::string list;
        for (int sm : supported) list += (list.empty() ? "" : ", ") + std::to_string(sm);
        fail(Stage::compile, ErrorCode::bad_input,
             "NVRTC " + toolkit.nvrtc_version() + " cannot target " + target.to_string() + " (it supports sm " + list + ")",
             variant_text, target.to_string());
    }
    const detail::NvrtcApi* nvrtc = toolkit.compiler_available() ? detail::nvrtc_api() : nullptr;
    if (!nvrtc)
        fail(Stage::compile, ErrorCode::no_compiler,
             "cannot compile here: " + toolkit.unavailable_reason() +
                 ". Install the CUDA toolkit's NVRTC (or set FLASHCORE_NVRTC_LIBRARY), or bring the kernel in a cache "
                 "built elsewhere (`flashcore cache export` / `cache import`, FLASHCORE_CACHE_PATH)",
             variant_text, target.to_string());
    const detail::NvrtcApi& api = *nvrtc;
    auto start = std::chrono::steady_clock::now();
    std::vector<const char*> header_texts, header_names;
    for (const auto& h : source.headers) {
        header_texts.push_back(h.content.c_str());
        header_names.push_back(h.path.c_str());
    }
    Program program{api};
    nvrtcResult rc = api.nvrtcCreateProgram(&program.handle, source.text.c_str(), source.file_name.c_str(),
                                        static_cast<int>(header_texts.size()), header_texts.data(), header_names.data());
    if (rc != NVRTC_SUCCESS) nvrtc_failure(api, rc, "cannot create NVRTC program", "", variant_text, target);
    rc = api.nvrtcAddNameExpression(program.handle, source.name_expression.c_str());
    if (rc != NVRTC_SUCCESS) nvrtc_failure(api, rc, "cannot register kernel " + source.name_expression, "", variant_text, target);

    std::vector<std::string> args = options.nvrtc_arguments(target, toolkit);
    std::vector<const char*> argv;
    for (const auto& a : args) argv.push_back(a.c_str());
    rc = api.nvrtcCompileProgram(program.handle, static_cast<int>(argv.size()), argv.data());
    Compiled out;
    out.log = program_log(api, program.handle);
    if (rc != NVRTC_SUCCESS) nvrtc_failure(api, rc, "NVRTC could not compile " + source.file_name, out.log, variant_text, target);

    const char* lowered = nullptr;
    rc = api.nvrtcGetLoweredName(program.handle, source.name_expression.c_str(), &lowered);
    if (rc != NVRTC_SUCCESS || lowered == nullptr)
        nvrtc_failure(api, rc, "kernel '" + source.name_expression.substr(1) +
                              "' named in the schema is not defined by the template (check the schema's \"kernel\")",
                      out.log, variant_text, target);
    out.lowered_name = lowered;

    size_t cubin_size = 0;
    rc = api.nvrtcGetCUBINSize(program.handle, &cubin_size);
    if (rc != NVRTC_SUCCESS || cubin_size == 0) nvrtc_failure(api, rc, "NVRTC produced no cubin", out.log, variant_text, target);
    out.cubin.resize(cubin_size);
    rc = api.nvrtcGetCUBIN(program.handle, out.cubin.data());
    if (rc != NVRTC_SUCCESS) nvrtc_failure(api, rc, "cannot read the cubin", out.log, variant_text, target);

    out.warnings = extract_warnings(out.log);
    out.resources = parse_resource_usage(out.log, out.lowered_name);
    out.compile_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    return out;
}

void enforce_promoted_warnings(const Compiled& compiled, const CompileOptions& options, const std::string& variant_text,
                               const std::string& arch) {
    std::vector<PromotedWarning> active;
    for (const auto& w : default_promoted_warnings())
        if (std::find(options.allowed_warnings.begin(), options.allowed_warnings.end(), w.id) == options.allowed_warnings.end())
            active.push_back(w);
    for (const auto& p : options.promoted_patterns) active.push_back({p, p, "promoted by --promote-warning"});
    for (const auto& warning : compiled.warnings) {
        for (const auto& rule : active) {
            if (warning.find(rule.pattern) == std::string::npos) continue;
            ErrorInfo info;
            info.stage = Stage::compile;
            info.code = ErrorCode::warning_promoted;
            info.message = "compiler warning promoted to an error [" + rule.id + "]: " + warning + " — " + rule.why +
                           ". To build anyway, pass --allow-warning " + rule.id;
            info.log = compiled.log;
            info.variant = variant_text;
            info.arch = arch;
            throw Error(std::move(info));
        }
    }
}

}  // namespace flashcore
