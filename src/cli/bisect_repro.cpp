#include "cli/bisect_repro.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "cli/cli_common.hpp"
#include "core/text.hpp"
#include "flashcore/error.hpp"
#include "flashcore/problem_names.hpp"
#include "flashcore/render.hpp"
#include "flashcore/tools/repro.hpp"
#include "tools/json_codec.hpp"

namespace flashcore::cli {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

void write_file(const fs::path& path, const std::string& text) {
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    file << text;
    if (!file) fail(Stage::io, ErrorCode::internal, "cannot write " + path.string());
}

std::string suffix_for(size_t i) { return i == 0 ? "" : "-" + std::to_string(i + 1); }

std::string compile_options_text(const ReproContext& ctx, const Variant& any) {
    const CompileOptions& options = ctx.base.compile;
    std::ostringstream o;
    o << "# compile options of every probe (the \"compile\" field of its request)\n"
      << json(options).dump(2) << "\n# canonical compile options (part of the cache key)\n"
      << options.canonical() << "\n";
    if (const DeviceInfo* d = ctx.devices.find(ctx.device)) {
        try {
            Target target;
            target.sm = d->sm;
            target = target_for(any.schema(), target);
            Toolkit toolkit = Toolkit::locate(ctx.cuda_home);
            o << "# NVRTC arguments for " << target.to_string() << "\n";
            for (const auto& a : options.nvrtc_arguments(target, toolkit)) o << a << "\n";
        } catch (const Error& e) {
            o << "# NVRTC arguments unavailable: " << e.info().message << "\n";
        }
    }
    return o.str();
}

void write_script(const ReproContext& ctx, const fs::path& script, const std::string& variant,
                  const std::string& comment) {
    ProbeRequest r = ctx.base;
    r.variant = variant;
    write_file(script, repro_script(ctx.executable, r, comment));
    fs::permissions(script, fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec,
                    fs::perm_options::add);
}

}  // namespace

std::string probe_log_text(const std::string& variant, const ProbeResult& r) {
    std::ostringstream s;
    s << "variant   " << variant << "\n"
      << "verdict   " << to_string(r.verdict) << (r.message.empty() ? "" : ": " + r.message) << "\n"
      << "exit code " << r.exit_code << (r.signal ? ", signal " + std::to_string(r.signal) : "") << ", wall "
      << format_us(r.wall_ms) << " ms\n";
    if (r.max_abs_err >= 0)
        s << "error     max abs " << format_error(r.max_abs_err) << ", mean abs " << format_error(r.mean_abs_err) << "\n";
    if (!r.log.empty()) s << "---- compiler log ----\n" << r.log << (r.log.back() == '\n' ? "" : "\n");
    s << "---- probe output (stdout, then stderr; tail) ----\n"
      << r.output << (r.output.empty() || r.output.back() == '\n' ? "" : "\n");
    return s.str();
}

std::string write_repro_folder(const ReproContext& ctx, const BisectReport& report, const std::string& sanitizer_json) {
    const fs::path& dir = ctx.dir;
    const AttentionProblem& problem = ctx.base.problem;
    NameLookup names = problem_names(problem);
    fs::create_directories(dir / "logs");
    write_file(dir / "summary.txt", report.summary);
    std::string lines;
    for (const auto& s : report.steps) lines += to_json(s) + "\n";
    write_file(dir / "verdicts.jsonl", lines);
    for (const auto& s : report.steps)
        if (s.probed) {
            char name[64];
            std::snprintf(name, sizeof name, "%02zu-%s.log", s.index + 1, to_string(s.phase));
            write_file(dir / "logs" / name, probe_log_text(s.variant, s.result));
        }
    std::string variants = "good    " + report.good + "\nbad     " + report.bad + "\n";
    for (const auto& c : report.culprits)
        variants += "culprit " + c.variant + "   # " + detail::join(c.changes, " + ") + " => " +
                    to_string(c.result.verdict) + "\n";
    write_file(dir / "variants.txt", variants);
    write_file(dir / "compile_options.txt", compile_options_text(ctx, parse_variant(report.good, *ctx.registry, names)));

    json device = ctx.devices.find(ctx.device) ? json(*ctx.devices.find(ctx.device)) : json();
    json environment = {{"flashcore", ctx.executable},   {"devices", ctx.devices},
                        {"device", device},              {"problem", problem.to_string()},
                        {"seed", ctx.base.seed},         {"timeout_s", ctx.timeout_s},
                        {"probe_env", ctx.base.env},     {"probe_request", ctx.base}};
    write_file(dir / "environment.json", environment.dump(2) + "\n");

    for (size_t i = 0; i < report.culprits.size(); ++i) {
        const Culprit& c = report.culprits[i];
        const std::string sfx = suffix_for(i);
        try {
            Variant v = parse_variant(c.variant, *ctx.registry, names);
            write_file(dir / ("culprit" + sfx + ".cu"), render(v, *ctx.registry).text);
        } catch (const Error& e) {
            write_file(dir / ("culprit" + sfx + ".cu"), std::string("// cannot render: ") + e.what() + "\n");
        }
        write_file(dir / ("culprit" + sfx + ".log"), probe_log_text(c.variant, c.result));
        write_script(ctx, dir / ("repro" + sfx + ".sh"), c.variant,
                     "flashcore bisect culprit: " + detail::join(c.changes, " + ") + " => " +
                         to_string(c.result.verdict) + "\nproblem " + problem.to_string() + ", seed " +
                         std::to_string(ctx.base.seed));
    }
    if (report.culprits.empty() && report.status == BisectStatus::good_not_ok)
        write_script(ctx, dir / "repro.sh", report.good, "the GOOD variant of a bisect, which is not ok");

    json doc = report;
    doc["repro_dir"] = dir.string();
    doc["seed"] = ctx.base.seed;
    doc["problem"] = problem.to_string();
    doc["device"] = device;
    doc["nvrtc"] = ctx.devices.nvrtc;
    if (ctx.devices.driver_version) doc["driver_version"] = ctx.devices.driver_version;
    if (!sanitizer_json.empty()) doc["sanitizer"] = json::parse(sanitizer_json);
    write_file(dir / "report.json", doc.dump(2) + "\n");
    return doc.dump();
}

}  // namespace flashcore::cli
