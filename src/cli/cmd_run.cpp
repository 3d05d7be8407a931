// `flashcore run VARIANT --shape ...`: one variant on fresh random inputs; time and, with
// --verify, the error against a higher-precision reference.
#include "cli/cmd_run.hpp"

#include <nlohmann/json.hpp>

#include <iostream>

#include "cli/commands.hpp"
#include "core/json_codec.hpp"
#include "flashcore/error.hpp"
#include "flashcore/selection/auto.hpp"

namespace flashcore::cli {

ReferenceKind parse_reference(const std::string& text) {
    if (text == "auto") return ReferenceKind::automatic;
    if (text == "cpu") return ReferenceKind::cpu;
    if (text == "gpu") return ReferenceKind::gpu;
    fail(Stage::validate, ErrorCode::bad_input, "--reference " + text + ": expected auto, cpu or gpu");
}

nlohmann::json report_json(const RunReport& r, const AttentionHarness& harness) {
    const AttentionProblem& p = harness.problem();
    nlohmann::json j = p;  // the problem's fields
    j.update({{"variant", r.variant},
              {"key", r.key},
              {"source", r.cache_source},
              {"lookup_ms", r.lookup_ms},
              {"seed", harness.seed()},
              {"grid", {r.dims.grid[0], r.dims.grid[1], r.dims.grid[2]}},
              {"block", r.dims.block},
              {"dynamic_shared_bytes", r.dims.dynamic_smem},
              {"shared_bytes", r.static_smem},
              {"registers", r.registers}});
    // Every key always; null where this run has no value.
    j["us_eager"] = r.us_eager >= 0 ? nlohmann::json(r.us_eager) : nlohmann::json(nullptr);
    j["us_graph"] = r.us_graph >= 0 ? nlohmann::json(r.us_graph) : nlohmann::json(nullptr);
    j["tflops"] = r.us_graph > 0 ? nlohmann::json(p.flops() / r.us_graph / 1e6) : nlohmann::json(nullptr);
    for (const char* key : {"reference", "compared", "max_abs_err", "mean_abs_err", "non_finite", "tolerance", "passed"})
        j[key] = nullptr;
    j["lse_max_abs_err"] = nullptr;
    if (r.verified) {
        j["reference"] = r.reference;
        j["compared"] = r.compared;
        j["max_abs_err"] = r.error.max_abs;
        j["mean_abs_err"] = r.error.mean_abs;
        j["non_finite"] = r.error.non_finite;
        j["tolerance"] = r.tolerance;
        j["passed"] = r.passed;
        if (p.with_lse) j["lse_max_abs_err"] = r.lse_error.max_abs;
    }
    return j;
}

void print_report(const RunReport& r, const AttentionHarness& harness) {
    const AttentionProblem& p = harness.problem();
    std::cout << "variant  " << r.variant << "\n"
              << "problem  " << p.to_string() << " (seed " << harness.seed() << ")\n"
              << "cubin    " << r.cache_source << " in " << format_us(r.lookup_ms) << " ms, key " << r.key << "\n"
              << "launch   grid " << r.dims.grid[0] << "x" << r.dims.grid[1] << "x" << r.dims.grid[2] << ", block "
              << r.dims.block << ", dynamic smem " << r.dims.dynamic_smem << " B, static smem " << r.static_smem
              << " B, " << r.registers << " registers\n";
    if (r.us_eager >= 0 || r.us_graph >= 0) {
        std::cout << "time    ";
        if (r.us_eager >= 0) std::cout << " " << format_us(r.us_eager) << " us/call (plain launches)";
        if (r.us_graph >= 0)
            std::cout << " " << format_us(r.us_graph) << " us/call (CUDA graph), " << format_us(p.flops() / r.us_graph / 1e6)
                      << " TFLOP/s";
        std::cout << "\n";
    }
    if (r.verified) {
        std::cout << "check    " << r.compared << " vs " << r.reference << ": max abs error " << format_error(r.error.max_abs)
                  << ", mean " << format_error(r.error.mean_abs);
        if (r.error.non_finite) std::cout << ", " << r.error.non_finite << " NaN/inf (first at element " << r.error.worst_index << ")";
        if (p.with_lse && r.compared == "o+lse") std::cout << "; lse max abs error " << format_error(r.lse_error.max_abs);
        std::cout << " -> " << (r.passed ? "PASS" : "FAIL") << " (tolerance " << format_error(r.tolerance) << ")\n";
    }
}

void register_run(CLI::App& app, Context& context) {
    auto* cmd = app.add_subcommand("run", "run one variant on fresh random inputs; time it and optionally verify it");
    struct Args {
        std::string variant;
        ProblemFlags problem;
        CompileFlags compile;
        bool verify = false;
        bool json = false;
        bool graph = false;
        int iters = 20;
        int device = 0;
        std::uint64_t seed = 0;
        std::string reference = "auto";
    };
    auto args = std::make_shared<Args>();
    cmd->add_option("variant", args->variant, "TEMPLATE[:name=value,...] or auto")->required();
    args->problem.add_to(*cmd, true);
    args->compile.add_to(*cmd);
    cmd->add_flag("--verify", args->verify, "compare against a higher-precision reference (exit 1 on mismatch)");
    cmd->add_flag("--json", args->json, "one JSON object");
    cmd->add_flag("--graph", args->graph, "also time 20 calls captured in a CUDA graph");
    cmd->add_option("--iters", args->iters, "plain launches per timing (0: no timing)")->capture_default_str();
    cmd->add_option("--device", args->device, "GPU ordinal")->capture_default_str();
    cmd->add_option("--seed", args->seed, "input seed (default: fresh each run)");
    cmd->add_option("--reference", args->reference, "auto | cpu | gpu")->capture_default_str();
    cmd->callback([&context, args] {
        context.exit_code = guarded(context, [&] {
            Runtime& rt = context.runtime();
            AttentionProblem problem = args->problem.problem();
            Selection chosen = resolve(rt, problem, args->variant, args->device);
            if (args->variant == "auto" && !args->json)
                std::cout << "auto     " << chosen.variant << " (" << chosen.source << ": " << chosen.why << ")\n";
            Variant variant = rt.variant(chosen.variant, &problem);
            RunOptions options;
            options.verify = args->verify;
            options.reference = parse_reference(args->reference);
            options.eager_iterations = args->iters;
            options.graph_calls = args->graph ? 20 : 0;
            options.compile = args->compile.options();
            AttentionHarness harness(rt, problem, args->seed ? args->seed : fresh_seed(), args->device);
            RunReport report = harness.run(variant, options);
            if (args->json) std::cout << report_json(report, harness).dump() << "\n";
            else print_report(report, harness);
            return report.verified && !report.passed ? kWorkFailed : kOk;
        });
    });
}

}  // namespace flashcore::cli
