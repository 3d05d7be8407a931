// `flashcore probe VARIANT... --shape ... --seed N`: the child side of crash isolation. Runs
// each variant on the same inputs and prints one JSON verdict line per variant on stdout, as
// it goes; stops after a fault (the context is gone) and exits 0 only if all were ok. bisect,
// compare and tune start it in a child process; people rarely call it by hand.
#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>

#include "cli/commands.hpp"
#include "flashcore/attention_harness.hpp"
#include "flashcore/error.hpp"
#include "flashcore/probe.hpp"

namespace flashcore::cli {

void register_probe(CLI::App& app, Context& context) {
    auto* cmd = app.add_subcommand("probe", "run one variant and print a JSON verdict (the child of bisect/compare/tune)");
    struct Args {
        std::vector<std::string> variants;
        ProblemFlags problem;
        CompileFlags compile;
        std::uint64_t seed = 0;
        bool no_verify = false;
        bool time = false;
        std::string dump;
        int device = 0;
    };
    auto args = std::make_shared<Args>();
    cmd->add_option("variants", args->variants, "TEMPLATE[:name=value,...] (several: one verdict line each)")->required();
    args->problem.add_to(*cmd, true);
    args->compile.add_to(*cmd);
    cmd->add_option("--seed", args->seed, "input seed (default: fresh)");
    cmd->add_flag("--no-verify", args->no_verify, "skip the reference check");
    cmd->add_flag("--time", args->time, "time it: CUDA-graph replay of 20 calls and plain launches, median of 7");
    cmd->add_option("--dump", args->dump, "write the output as float32 [B,Hq,Sq,D] to this file");
    cmd->add_option("--device", args->device, "GPU ordinal");
    cmd->callback([&context, args] {
        std::unique_ptr<AttentionHarness> harness;  // one set of inputs for every variant
        bool all_ok = true;
        for (const std::string& text : args->variants) {
            nlohmann::json j = {{"variant", text}};
            Verdict verdict = Verdict::ok;
            try {
                Runtime& rt = context.runtime();
                AttentionProblem problem = args->problem.problem();
                Variant variant = rt.variant(text, &problem);
                j["variant"] = variant.to_string();
                RunOptions options;
                options.verify = !args->no_verify;
                options.compile = args->compile.options();
                if (args->time) {
                    options.eager_iterations = 20;
                    options.graph_calls = 20;
                }
                if (!harness)
                    harness = std::make_unique<AttentionHarness>(rt, problem, args->seed ? args->seed : fresh_seed(),
                                                                 args->device);
                j["seed"] = harness->seed();
                RunReport r = harness->run(variant, options);
                j["source"] = r.cache_source;
                j["key"] = r.key;
                if (r.us_graph >= 0) {
                    j["us_graph"] = r.us_graph;
                    j["us_graph_min"] = r.us_graph_min;
                    j["us_graph_max"] = r.us_graph_max;
                }
                if (r.us_eager >= 0) j["us_eager"] = r.us_eager;
                if (r.verified) {
                    j["max_abs_err"] = r.error.max_abs;
                    j["mean_abs_err"] = r.error.mean_abs;
                    j["non_finite"] = r.error.non_finite;
                    j["tolerance"] = r.tolerance;
                    j["reference"] = r.reference;
                    j["compared"] = r.compared;
                    if (!r.passed) {
                        verdict = Verdict::mismatch;
                        j["message"] = r.compared + " differs from " + r.reference + ": max abs error " +
                                       format_error(r.error.max_abs) + " > " + format_error(r.tolerance) +
                                       (r.error.non_finite ? ", " + std::to_string(r.error.non_finite) + " NaN/inf" : "");
                    }
                }
                if (!args->dump.empty()) {
                    std::vector<float> out = harness->output();
                    std::ofstream file(args->dump, std::ios::binary);
                    file.write(reinterpret_cast<const char*>(out.data()), std::streamsize(out.size() * sizeof(float)));
                    if (!file) fail(Stage::io, ErrorCode::internal, "cannot write " + args->dump);
                }
            } catch (const Error& e) {
                verdict = verdict_for(e);
                j["message"] = e.what();
                j["error_code"] = to_string(e.code());
                j["stage"] = to_string(e.stage());
                if (!e.info().log.empty()) j["log"] = e.info().log;
            }
            j["verdict"] = to_string(verdict);
            std::cout << j.dump() << std::endl;
            all_ok &= verdict == Verdict::ok;
            // After a fault this process's context is unusable: the parent restarts the rest.
            if (verdict == Verdict::launch_fault) break;
        }
        context.exit_code = all_ok ? kOk : kWorkFailed;
    });
}

}  // namespace flashcore::cli
