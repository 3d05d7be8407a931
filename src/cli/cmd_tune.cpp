// `flashcore tune --shape ...`: time every valid candidate of a template family on one problem,
// each crash-isolated (probes in child processes), and store one record per candidate in the
// cache folder; `auto` then picks the fastest. Re-running times only candidates without a
// record, so an interrupted tune resumes and a new candidate costs one timing.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <iostream>

#include "cli/commands.hpp"
#include "flashcore/error.hpp"
#include "flashcore/tools/attention_harness.hpp"
#include "flashcore/tools/device_query.hpp"
#include "flashcore/tools/tune.hpp"
#include "selection/json_codec.hpp"

namespace flashcore::cli {

void register_tune(CLI::App& app, Context& context) {
    auto* cmd = app.add_subcommand("tune", "time a template's candidates on a problem (crash-isolated) and store the records");
    struct Args {
        ProblemFlags problem;
        CompileFlags compile;
        std::string template_id;
        std::string candidates;
        std::size_t max = 0;
        bool retune = false;
        double timeout_s = 60;
        std::uint64_t seed = 0;
        bool json = false;
        int top = 8;
    };
    auto args = std::make_shared<Args>();
    args->problem.add_to(*cmd, true);
    args->compile.add_to(*cmd);
    cmd->add_option("--template", args->template_id,
                    "template family to tune (default: the highest-ranked `auto` family this GPU runs, attention_mma today)");
    cmd->add_option("--candidates", args->candidates, "pattern, e.g. attention_mma:splits=1|2,stages=*");
    cmd->add_option("--max", args->max, "time at most this many candidates");
    cmd->add_flag("--retune", args->retune, "time every candidate again, ignoring stored records");
    cmd->add_option("--timeout", args->timeout_s, "seconds one candidate may take")->capture_default_str();
    cmd->add_option("--seed", args->seed, "input seed (default: fresh)");
    cmd->add_flag("--json", args->json, "one JSON line per record, then a summary line");
    cmd->add_option("--top", args->top, "rows of the result table")->capture_default_str();
    cmd->callback([&context, args] {
        context.exit_code = guarded(context, [&] {
            Runtime& rt = context.runtime();
            AttentionProblem problem = args->problem.problem();
            std::string exe = ProcessProbeRunner::default_probe_executable();
            DeviceInfo device = query_device_in_child(exe);  // this process never touches the GPU
            TuneOptions options;
            options.template_id = args->template_id;
            options.pattern = args->candidates;
            options.max_candidates = args->max;
            options.retune = args->retune;
            options.seed = args->seed ? args->seed : fresh_seed();
            options.timeout = std::chrono::milliseconds(static_cast<long long>(args->timeout_s * 1000));
            options.compile = args->compile.options();
            options.probe_env = context.probe_env();
            ProcessBatchProber prober(exe);
            std::unique_ptr<Progress> progress;
            TuneReport report = tune(rt, problem, device, options, prober, [&](const TuneRecord& r, size_t done, size_t total) {
                if (args->json) {
                    std::cout << nlohmann::json(r).dump() << std::endl;
                    return;
                }
                if (!progress) {
                    progress = std::make_unique<Progress>("tuning", total);
                    progress->skip(done - 1);  // records reused from an earlier tune
                }
                progress->step(std::string(to_string(r.verdict)) + (r.us_median > 0 ? " " + format_us(r.us_median) + " us" : "") +
                               " " + r.variant);
            });
            progress.reset();
            std::vector<TuneRecord> ok;
            size_t failed = 0;
            for (const auto& r : report.records) {
                if (r.verdict == Verdict::ok) ok.push_back(r);
                else ++failed;
            }
            std::sort(ok.begin(), ok.end(), [](const auto& a, const auto& b) { return a.us_median < b.us_median; });
            if (args->json) {
                std::cout << nlohmann::json{{"summary", true},
                                            {"problem", problem.to_string()},
                                            {"bucket", report.key.bucket},
                                            {"records", report.record_file},
                                            {"timed", report.timed},
                                            {"reused", report.reused},
                                            {"rejected", report.rejected},
                                            {"failed", failed},
                                            {"best", report.best ? nlohmann::json(report.best->variant) : nlohmann::json(nullptr)},
                                            {"best_us", report.best ? nlohmann::json(report.best->us_median) : nlohmann::json(nullptr)}}
                                 .dump()
                          << std::endl;
            } else {
                std::cout << "tuned " << problem.to_string() << " on " << device.name << " (bucket " << report.key.bucket
                          << ")\n  " << report.timed << " timed, " << report.reused << " reused from "
                          << report.record_file << ", " << report.rejected << " rejected by the schema or device, " << failed
                          << " failed\n";
                for (int i = 0; i < std::min<int>(args->top, int(ok.size())); ++i)
                    std::cout << "  " << format_us(ok[i].us_median) << " us  ±" << format_us(100 * ok[i].spread()) << "%  "
                              << ok[i].variant << "\n";
                for (const auto& r : report.records)
                    if (r.verdict != Verdict::ok && r.verdict != Verdict::resource_error && r.verdict != Verdict::invalid)
                        std::cout << "  " << to_string(r.verdict) << "  " << r.variant << ": " << r.message.substr(0, 160)
                                  << "\n";
            }
            return report.best ? kOk : kWorkFailed;
        });
    });
}

}  // namespace flashcore::cli
