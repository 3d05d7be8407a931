// `flashcore bisect --good A --bad B --shape ...`: find the smallest parameter change that turns
// a passing variant into a failing one. Every variant runs as a `flashcore probe` child with a
// time limit (this process never initialises CUDA); the search itself is flashcore::bisect.
// Writes a repro folder: rendered source of the culprit, flags, verdicts, device facts, logs
// and a repro.sh.
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "child_process.hpp"
#include "cli/commands.hpp"
#include "flashcore/attention_harness.hpp"
#include "flashcore/bisect.hpp"
#include "flashcore/error.hpp"
#include "flashcore/render.hpp"

namespace flashcore::cli {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

void write_file(const fs::path& path, const std::string& text) {
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    file << text;
    if (!file) fail(Stage::io, ErrorCode::internal, "cannot write " + path.string());
}

std::string timestamp() {
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    ::localtime_r(&now, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", &tm);
    return buf;
}

fs::path choose_out_dir(const std::string& requested) {
    if (!requested.empty()) return fs::path(requested);
    fs::path base = fs::current_path() / ("bisect-" + timestamp());
    fs::path out = base;
    for (int i = 2; fs::exists(out); ++i) out = base.string() + "-" + std::to_string(i);
    return out;
}

// `flashcore devices --json` run as a child: device facts without initialising CUDA here.
json query_devices(const std::string& executable, const std::map<std::string, std::string>& env) {
    detail::ChildOutcome child = detail::run_child({executable, "devices", "--json"}, env, std::chrono::seconds(60));
    const std::string& text = child.stdout_tail;
    size_t brace = text.find('{');
    if (brace != std::string::npos) {
        try {
            return json::parse(text.substr(brace));
        } catch (const std::exception&) {
        }
    }
    return json{{"reason", "`" + executable + " devices --json` gave no answer (exit " + std::to_string(child.exit_code) +
                               "): " + child.stderr_tail}};
}

json device_entry(const json& devices, int ordinal) {
    for (const auto& d : devices.value("devices", json::array()))
        if (d.value("ordinal", -1) == ordinal) return d;
    return json();
}

std::string device_line(const json& devices, int ordinal) {
    json d = device_entry(devices, ordinal);
    std::ostringstream s;
    if (d.is_null()) s << "no GPU " << ordinal << (devices.contains("reason") ? " (" + devices["reason"].get<std::string>() + ")" : "");
    else s << d.value("name", "?") << " (" << d.value("arch", "?") << ")";
    if (devices.contains("driver_version")) {
        int v = devices["driver_version"].get<int>();
        s << ", driver " << v / 1000 << "." << (v % 1000) / 10;
    }
    if (devices.contains("nvrtc")) s << ", NVRTC " << devices["nvrtc"].get<std::string>();
    return s.str();
}

// The "log" field (compiler log) of the verdict line in a probe's output, if any.
std::string probe_log(const ProbeResult& r) {
    std::istringstream lines(r.output);
    std::string found;
    for (std::string line; std::getline(lines, line);) {
        if (line.empty() || line[0] != '{') continue;
        try {
            json j = json::parse(line);
            if (j.contains("verdict")) found = j.value("log", "");
        } catch (const std::exception&) {
        }
    }
    return found;
}

std::string probe_log_text(const std::string& variant, const ProbeResult& r) {
    std::ostringstream s;
    s << "variant   " << variant << "\n"
      << "verdict   " << to_string(r.verdict) << (r.message.empty() ? "" : ": " + r.message) << "\n"
      << "exit code " << r.exit_code << (r.signal ? ", signal " + std::to_string(r.signal) : "") << ", wall "
      << format_us(r.wall_ms) << " ms\n";
    if (r.max_abs_err >= 0)
        s << "error     max abs " << format_error(r.max_abs_err) << ", mean abs " << format_error(r.mean_abs_err) << "\n";
    std::string log = probe_log(r);
    if (!log.empty()) s << "---- compiler log ----\n" << log << (log.back() == '\n' ? "" : "\n");
    s << "---- probe output (stdout, then stderr; tail) ----\n" << r.output << (r.output.empty() || r.output.back() == '\n' ? "" : "\n");
    return s.str();
}

std::string find_on_path(const std::string& program) {
    std::vector<std::string> dirs;
    if (const char* path = std::getenv("PATH")) {
        std::string p = path;
        size_t pos = 0;
        for (;;) {
            size_t colon = p.find(':', pos);
            dirs.push_back(p.substr(pos, colon == std::string::npos ? std::string::npos : colon - pos));
            if (colon == std::string::npos) break;
            pos = colon + 1;
        }
    }
    for (const auto& d : dirs) {
        if (d.empty()) continue;
        fs::path candidate = fs::path(d) / program;
        if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    }
    return {};
}

std::string suffix_for(size_t i) { return i == 0 ? "" : "-" + std::to_string(i + 1); }

struct Args {
    std::string good, bad;
    ProblemFlags problem;
    CompileFlags compile;
    std::uint64_t seed = 0;
    double timeout_s = 120;
    std::size_t max_probes = 64;
    std::size_t exhaustive = 2;
    bool no_localise = false;
    bool json = false;
    bool sanitize = false;
    std::string out;
    int device = 0;
    std::string probe_executable;
};

int run_bisect(Context& context, const Args& args) {
    AttentionProblem problem = args.problem.problem();
    CompileOptions compile_options = args.compile.options();  // bad flags are bad usage, before any probe
    if (args.timeout_s <= 0) fail(Stage::validate, ErrorCode::bad_input, "--timeout must be > 0 seconds");
    TemplateRegistry registry(context.config().template_dirs);
    NameLookup names = problem_names(problem);
    Variant good = parse_variant(args.good, registry, names);
    Variant bad = parse_variant(args.bad, registry, names);
    if (good.template_id() != bad.template_id())
        fail(Stage::validate, ErrorCode::bad_input,
             "--good and --bad must be variants of one template (got " + good.template_id() + " and " + bad.template_id() + ")");
    if (good == bad) {
        std::cerr << "flashcore: --good and --bad are the same variant (" << good.to_string() << "): nothing to bisect\n";
        return kBadInput;
    }

    ProcessProbeRunner runner(args.probe_executable.empty() ? ProcessProbeRunner::default_probe_executable()
                                                             : args.probe_executable);
    ProbeRequest base;
    base.problem = problem;
    base.seed = args.seed ? args.seed : fresh_seed();
    base.verify = true;
    base.timeout = std::chrono::milliseconds(static_cast<long long>(args.timeout_s * 1000));
    base.extra_args = args.compile.probe_args();
    if (args.device != 0) base.extra_args.insert(base.extra_args.end(), {"--device", std::to_string(args.device)});
    base.env = context.probe_env();

    json devices = query_devices(runner.executable(), base.env);
    if (device_entry(devices, args.device).is_null())
        fail(Stage::driver, ErrorCode::no_device,
             "bisect needs GPU " + std::to_string(args.device) + ": " + device_line(devices, args.device));

    BisectOptions options;
    options.max_probes = args.max_probes;
    options.max_exhaustive_size = args.exhaustive;
    options.localise_stage = !args.no_localise;
    const bool tty = stderr_is_terminal();
    auto describe = [](const BisectStep& s) {
        std::string what = to_string(s.phase);
        what.resize(std::max<size_t>(what.size(), 12), ' ');
        std::string changes;
        for (const auto& c : s.changes) changes += (changes.empty() ? "" : " + ") + c;
        return what + " " + (changes.empty() ? s.variant : changes);
    };
    std::size_t started = 0;
    options.on_probe_start = [&](const BisectStep& s) {
        ++started;
        if (!tty) return;
        std::string line = "[probe " + std::to_string(started) + ", at most " + std::to_string(args.max_probes) + "] " +
                           describe(s) + " ...";
        if (line.size() > 140) line = line.substr(0, 137) + "...";
        std::fprintf(stderr, "\r\033[K%s", line.c_str());
        std::fflush(stderr);
    };
    auto on_step = [&](const BisectStep& s) {
        if (!tty) return;
        std::string verdict = to_string(s.result.verdict);
        if (!s.probed) verdict += s.reused ? " (reused)" : " (skipped: invalid combination)";
        else verdict += " (" + format_us(s.result.wall_ms / 1000.0) + " s)";
        std::fprintf(stderr, "\r\033[K#%-3zu %s  ->  %s\n", s.index + 1, describe(s).c_str(), verdict.c_str());
        std::fflush(stderr);
    };
    if (tty)
        std::fprintf(stderr, "bisect on %s, %s, seed %llu; each probe in a child with a %gs limit\n",
                     device_line(devices, args.device).c_str(), problem.to_string().c_str(),
                     static_cast<unsigned long long>(base.seed), args.timeout_s);

    BisectReport report = bisect(good, bad, registry, runner, base, options, on_step);

    // ---- repro folder --------------------------------------------------------------------
    fs::path dir = fs::absolute(choose_out_dir(args.out)).lexically_normal();
    fs::create_directories(dir);
    fs::create_directories(dir / "logs");
    write_file(dir / "summary.txt", report.summary);
    {
        std::string lines;
        for (const auto& s : report.steps) lines += to_json(s) + "\n";
        write_file(dir / "verdicts.jsonl", lines);
        for (const auto& s : report.steps)
            if (s.probed) {
                char name[64];
                std::snprintf(name, sizeof name, "%02zu-%s.log", s.index + 1, to_string(s.phase));
                write_file(dir / "logs" / name, probe_log_text(s.variant, s.result));
            }
    }
    {
        std::string text = "good    " + report.good + "\nbad     " + report.bad + "\n";
        for (const auto& c : report.culprits) {
            std::string changes;
            for (const auto& ch : c.changes) changes += (changes.empty() ? "" : " + ") + ch;
            text += "culprit " + c.variant + "   # " + changes + " => " + to_string(c.result.verdict) + "\n";
        }
        write_file(dir / "variants.txt", text);
    }
    json dev = device_entry(devices, args.device);
    {
        std::ostringstream o;
        o << "# flags passed to every probe\n";
        for (const auto& a : base.extra_args) o << a << "\n";
        o << "# canonical compile options (part of the cache key)\n" << compile_options.canonical() << "\n";
        if (!dev.is_null()) {
            try {
                Target target = target_for(good.schema(), Target::parse(dev.value("arch", "")));
                Toolkit toolkit = Toolkit::locate(context.config().cuda_home);
                o << "# NVRTC arguments for " << target.to_string() << "\n";
                for (const auto& a : compile_options.nvrtc_arguments(target, toolkit)) o << a << "\n";
            } catch (const Error& e) {
                o << "# NVRTC arguments unavailable: " << e.info().message << "\n";
            }
        }
        write_file(dir / "compile_options.txt", o.str());
    }
    {
        json env = {{"flashcore", runner.executable()},
                    {"devices", devices},
                    {"device", dev},
                    {"problem", problem.to_string()},
                    {"seed", base.seed},
                    {"timeout_s", args.timeout_s},
                    {"probe_env", base.env},
                    {"probe_flags", base.extra_args}};
        write_file(dir / "environment.json", env.dump(2) + "\n");
    }
    auto write_repro = [&](const fs::path& script, const std::string& variant, const std::string& comment) {
        ProbeRequest r = base;
        r.variant = variant;
        write_file(script, repro_script(runner.executable(), r, comment));
        fs::permissions(script, fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec,
                        fs::perm_options::add);
    };
    for (size_t i = 0; i < report.culprits.size(); ++i) {
        const Culprit& c = report.culprits[i];
        const std::string sfx = suffix_for(i);
        try {
            Variant v = parse_variant(c.variant, registry, names);
            write_file(dir / ("culprit" + sfx + ".cu"), render(v, registry).text);
        } catch (const Error& e) {
            write_file(dir / ("culprit" + sfx + ".cu"), std::string("// cannot render: ") + e.what() + "\n");
        }
        write_file(dir / ("culprit" + sfx + ".log"), probe_log_text(c.variant, c.result));
        std::string changes;
        for (const auto& ch : c.changes) changes += (changes.empty() ? "" : " + ") + ch;
        write_repro(dir / ("repro" + sfx + ".sh"), c.variant,
                    "flashcore bisect culprit: " + changes + " => " + to_string(c.result.verdict) + "\nproblem " +
                        problem.to_string() + ", seed " + std::to_string(base.seed));
    }
    if (report.culprits.empty() && report.status == BisectStatus::good_not_ok)
        write_repro(dir / "repro.sh", report.good, "the GOOD variant of a bisect, which is not ok");

    // ---- compute-sanitizer ---------------------------------------------------------------
    json sanitizer;
    if (args.sanitize && !report.culprits.empty()) {
        std::string tool = find_on_path("compute-sanitizer");
        if (tool.empty()) {
            sanitizer = {{"ran", false}, {"reason", "compute-sanitizer is not on PATH"}};
            write_file(dir / "sanitizer.txt", "compute-sanitizer is not on PATH; nothing ran\n");
        } else {
            if (tty) std::fprintf(stderr, "rerunning the culprit under compute-sanitizer (memcheck)...\n");
            ProbeRequest r = base;
            r.variant = report.culprits.front().variant;
            r.wrapper = {tool, "--tool", "memcheck"};
            r.timeout = std::max<std::chrono::milliseconds>(base.timeout * 10, std::chrono::minutes(10));
            ProbeResult s = runner.run(r);
            std::string text = "$ " + tool + " --tool memcheck " + runner.executable();
            for (const auto& a : probe_arguments(r)) text += " " + shell_quote(a);
            text += "\n\n" + probe_log_text(r.variant, s);
            write_file(dir / "sanitizer.txt", text);
            sanitizer = {{"ran", true}, {"verdict", to_string(s.verdict)}, {"file", (dir / "sanitizer.txt").string()}};
        }
    }

    json doc = json::parse(to_json(report));
    doc["repro_dir"] = dir.string();
    doc["seed"] = base.seed;
    doc["problem"] = problem.to_string();
    doc["device"] = dev;
    doc["nvrtc"] = devices.value("nvrtc", "");
    if (devices.contains("driver_version")) doc["driver_version"] = devices["driver_version"];
    if (!sanitizer.is_null()) doc["sanitizer"] = sanitizer;
    write_file(dir / "report.json", doc.dump(2) + "\n");

    if (args.json) {
        std::cout << doc.dump() << "\n";
    } else {
        std::cout << report.summary << "device  " << device_line(devices, args.device) << "\nproblem " << problem.to_string()
                  << ", seed " << base.seed << "\nrepro   " << dir.string() << "/"
                  << (report.culprits.empty() ? "" : "  (./repro.sh reruns the culprit probe)") << "\n";
        if (!sanitizer.is_null())
            std::cout << "sanitizer "
                      << (sanitizer.value("ran", false) ? "verdict " + sanitizer.value("verdict", "") + ", report in " +
                                                              (dir / "sanitizer.txt").string()
                                                        : sanitizer.value("reason", ""))
                      << "\n";
    }
    return report.status == BisectStatus::found ? kOk : kWorkFailed;
}

}  // namespace

void register_bisect(CLI::App& app, Context& context) {
    auto* cmd = app.add_subcommand(
        "bisect", "find the smallest parameter change that turns a good variant bad (each probe in a child process)");
    auto args = std::make_shared<Args>();
    cmd->add_option("--good", args->good, "a variant that passes: TEMPLATE[:name=value,...]")->required();
    cmd->add_option("--bad", args->bad, "a variant of the same template that does not")->required();
    args->problem.add_to(*cmd, true);
    args->compile.add_to(*cmd);
    cmd->add_option("--seed", args->seed, "input seed for every probe (default: fresh, printed)");
    cmd->add_option("--timeout", args->timeout_s, "seconds each probe may take (compile included)")->capture_default_str();
    cmd->add_option("--max-probes", args->max_probes, "probes launched in all, at most")->capture_default_str();
    cmd->add_option("--exhaustive", args->exhaustive,
                    "change sizes tried exhaustively (1 single fields, 2 pairs...); larger by delta debugging")
        ->capture_default_str();
    cmd->add_flag("--no-localise", args->no_localise, "do not probe stage=qk/softmax to localise a mismatch");
    cmd->add_flag("--json", args->json, "one JSON document on stdout");
    cmd->add_option("--out", args->out, "repro folder (default ./bisect-<timestamp>/)");
    cmd->add_flag("--sanitize", args->sanitize, "rerun the culprit under compute-sanitizer memcheck (if on PATH)");
    cmd->add_option("--device", args->device, "GPU ordinal")->capture_default_str();
    // Hidden: the program run as `... probe` (default: this one). For tests and mixed builds.
    cmd->add_option("--probe-executable", args->probe_executable)->group("");
    cmd->callback([&context, args] { context.exit_code = guarded(context, [&] { return run_bisect(context, *args); }); });
}

}  // namespace flashcore::cli
