// `flashcore bisect --good A --bad B --shape ...`: find the smallest parameter change that turns
// a passing variant into a failing one. Every variant runs as a `flashcore probe` child with a
// time limit (this process never initialises CUDA); the search itself is flashcore::bisect.
// Writes a repro folder (cli/bisect_repro.hpp).
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/bisect_repro.hpp"
#include "cli/commands.hpp"
#include "core/text.hpp"
#include "flashcore/error.hpp"
#include "flashcore/problem_names.hpp"
#include "flashcore/tools/bisect.hpp"
#include "flashcore/tools/device_query.hpp"
#include "flashcore/tools/repro.hpp"
#include "tools/json_codec.hpp"

namespace flashcore::cli {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

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

std::string find_on_path(const std::string& program) {
    const char* path = std::getenv("PATH");
    for (const auto& d : detail::split(path ? path : "", ':')) {
        if (d.empty()) continue;
        fs::path candidate = fs::path(d) / program;
        if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    }
    return {};
}

// "search       threads: 64 -> 256" for progress lines.
std::string describe(const BisectStep& s) {
    std::string what = to_string(s.phase);
    what.resize(std::max<size_t>(what.size(), 12), ' ');
    return what + " " + (s.changes.empty() ? s.variant : detail::join(s.changes, " + "));
}

struct Args {
    std::string good, bad;
    ProblemFlags problem;
    CompileFlags compile;
    ProbeFlags probe;
    std::size_t max_probes = 64;
    std::size_t exhaustive = 2;
    bool no_localise = false;
    bool json = false;
    bool sanitize = false;
    std::string out;
};

// Reruns the first culprit under compute-sanitizer memcheck; its report goes to sanitizer.txt.
json run_sanitizer(ProcessProbeRunner& runner, const ProbeRequest& base, const BisectReport& report,
                   const fs::path& dir, Progress& progress) {
    std::string tool = find_on_path("compute-sanitizer");
    std::ofstream file(dir / "sanitizer.txt");
    if (tool.empty()) {
        file << "compute-sanitizer is not on PATH; nothing ran\n";
        return {{"ran", false}, {"reason", "compute-sanitizer is not on PATH"}};
    }
    progress.note("rerunning the culprit under compute-sanitizer (memcheck)...");
    ProbeRequest r = base;
    r.variant = report.culprits.front().variant;
    r.wrapper = {tool, "--tool", "memcheck"};
    r.timeout = std::max<std::chrono::milliseconds>(base.timeout * 10, std::chrono::minutes(10));
    ProbeResult s = runner.run(r);
    std::ofstream(dir / "sanitizer-request.json") << nlohmann::json(r).dump(2) << "\n";
    file << "$ " << tool << " --tool memcheck " << runner.executable() << " probe --request-json "
         << shell_quote((dir / "sanitizer-request.json").string()) << "\n\n"
         << probe_log_text(r.variant, s);
    return {{"ran", true}, {"verdict", to_string(s.verdict)}, {"file", (dir / "sanitizer.txt").string()}};
}

int run_bisect(Context& context, const Args& args) {
    AttentionProblem problem = args.problem.problem();
    CompileOptions compile = args.compile.options();  // bad flags are bad usage, before any probe
    ProbeRequest base = args.probe.base_request(problem, compile, context);
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

    ProcessProbeRunner runner(args.probe.executable());
    DevicesReport devices = query_devices_in_child(runner.executable(), base.env);
    if (!devices.find(args.probe.device))
        fail(Stage::driver, ErrorCode::no_device,
             "bisect needs GPU " + std::to_string(args.probe.device) + ": " + devices.describe(args.probe.device));

    BisectOptions options;
    options.max_probes = args.max_probes;
    options.max_exhaustive_size = args.exhaustive;
    options.localise_stage = !args.no_localise;
    Progress progress("probing", args.max_probes);  // an upper bound: invalid steps cost no probe
    options.on_probe_start = [&](const BisectStep& s) { progress.start(describe(s) + " ..."); };
    auto on_step = [&](const BisectStep& s) {
        std::string verdict = to_string(s.result.verdict);
        if (!s.probed) verdict += s.reused ? " (reused)" : " (skipped: invalid combination)";
        else verdict += " (" + format_us(s.result.wall_ms / 1000.0) + " s)";
        char number[16];
        std::snprintf(number, sizeof number, "#%-3zu", s.index + 1);
        progress.note(std::string(number) + " " + describe(s) + "  ->  " + verdict);
        if (s.probed) progress.step("");
    };
    char header[64];
    std::snprintf(header, sizeof header, "%gs", args.probe.timeout_s);
    progress.note("bisect on " + devices.describe(args.probe.device) + ", " + problem.to_string() + ", seed " +
                  std::to_string(base.seed) + "; each probe in a child with a " + header + " limit");

    BisectReport report = bisect(good, bad, registry, runner, base, options, on_step);

    ReproContext repro;
    repro.dir = fs::absolute(choose_out_dir(args.out)).lexically_normal();
    repro.executable = runner.executable();
    repro.registry = &registry;
    repro.cuda_home = context.config().cuda_home;
    repro.base = base;
    repro.devices = devices;
    repro.device = args.probe.device;
    repro.timeout_s = args.probe.timeout_s;
    fs::create_directories(repro.dir);
    json sanitizer;
    if (args.sanitize && !report.culprits.empty()) sanitizer = run_sanitizer(runner, base, report, repro.dir, progress);
    progress.done();
    std::string doc = write_repro_folder(repro, report, sanitizer.is_null() ? "" : sanitizer.dump());

    if (args.json) {
        std::cout << doc << "\n";
    } else {
        std::cout << report.summary << "device  " << devices.describe(args.probe.device) << "\nproblem "
                  << problem.to_string() << ", seed " << base.seed << "\nrepro   " << repro.dir.string() << "/"
                  << (report.culprits.empty() ? "" : "  (./repro.sh reruns the culprit probe)") << "\n";
        if (!sanitizer.is_null())
            std::cout << "sanitizer "
                      << (sanitizer.value("ran", false) ? "verdict " + sanitizer.value("verdict", "") + ", report in " +
                                                              (repro.dir / "sanitizer.txt").string()
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
    args->probe.add_to(*cmd);
    cmd->add_option("--max-probes", args->max_probes, "probes launched in all, at most")->capture_default_str();
    cmd->add_option("--exhaustive", args->exhaustive,
                    "change sizes tried exhaustively (1 single fields, 2 pairs...); larger by delta debugging")
        ->capture_default_str();
    cmd->add_flag("--no-localise", args->no_localise, "do not probe stage=qk/softmax to localise a mismatch");
    cmd->add_flag("--json", args->json, "one JSON document on stdout");
    cmd->add_option("--out", args->out, "repro folder (default ./bisect-<timestamp>/)");
    cmd->add_flag("--sanitize", args->sanitize, "rerun the culprit under compute-sanitizer memcheck (if on PATH)");
    cmd->callback([&context, args] { context.exit_code = guarded(context, [&] { return run_bisect(context, *args); }); });
}

}  // namespace flashcore::cli
