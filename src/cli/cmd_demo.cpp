// `flashcore demo`: the quick-start job. With a GPU: JIT-compile reference_attention, run
// it on the mission shape (B=1, H=8, S=512, D=64, fp16), check it against a CPU fp64
// reference and show where the cubin came from. Without one: compile for sm_89 and sm_90a,
// print the resource report and say that nothing ran.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <iostream>

#include "cli/cmd_run.hpp"
#include "cli/commands.hpp"
#include "flashcore/driver.hpp"
#include "flashcore/error.hpp"

namespace flashcore::cli {

namespace {

// --json: one object per compile (no GPU) or for the run, with "ran" saying which.
int compile_only_demo(Runtime& rt, const std::string& why, bool json) {
    if (!json) std::cout << "No GPU here (" << why << ").\nCompiling only — NOTHING RAN on a GPU.\n\n";
    Variant v = rt.variant("reference_attention:dtype=f16");
    int code = kOk;
    for (const char* arch : {"sm_89", "sm_90a"}) {
        nlohmann::json row = {{"ran", false},          {"reason", why},       {"variant", v.to_string()},
                              {"arch", arch},          {"ok", false},         {"error", nullptr},
                              {"error_code", nullptr}, {"source", nullptr},   {"lookup_ms", nullptr},
                              {"key", nullptr},        {"registers", nullptr}, {"spill_bytes", nullptr},
                              {"stack_bytes", nullptr}, {"shared_bytes", nullptr}, {"cubin_bytes", nullptr},
                              {"warnings", nullptr},   {"cache", rt.cache().disk().root()}};
        try {
            CacheLookup r = rt.build(v, Target::parse(arch));
            const CacheEntry& e = *r.entry;
            const ResourceUsage& res = e.compiled.resources;
            row.update({{"ok", true}, {"source", to_string(r.source)}, {"lookup_ms", r.lookup_ms}, {"key", e.key},
                        {"registers", res.registers}, {"spill_bytes", res.spill_store_bytes},
                        {"stack_bytes", res.stack_bytes}, {"shared_bytes", res.static_shared_bytes},
                        {"cubin_bytes", e.compiled.cubin.size()}, {"warnings", e.compiled.warnings}});
            if (!json)
                std::cout << v.to_string() << " for " << arch << ": " << to_string(r.source) << " in "
                          << format_us(r.lookup_ms) << " ms (key " << e.key << ")\n  registers " << res.registers
                          << ", spill " << res.spill_store_bytes << " B, stack " << res.stack_bytes << " B, static smem "
                          << res.static_shared_bytes << " B, cubin " << e.compiled.cubin.size() << " B, "
                          << e.compiled.warnings.size() << " warnings\n";
        } catch (const Error& e) {
            row.update({{"error", e.what()}, {"error_code", to_string(e.code())}});
            // The JSON row carries the error; stderr says it either way.
            std::cerr << "flashcore: error [" << to_string(e.stage()) << "/" << to_string(e.code()) << "]: " << e.what()
                      << "\n";
            if (!json && !e.info().log.empty()) std::cerr << e.info().log << "\n";
            code = std::max(code, e.is_usage_error() ? kBadInput : kWorkFailed);
        }
        if (json) std::cout << row.dump() << "\n";
    }
    if (!json)
        std::cout << "\nCached in " << rt.cache().disk().root() << ". Run `make demo` on a machine with an NVIDIA GPU to "
                     "execute and verify the kernel.\n";
    return code;
}

}  // namespace

void register_demo(CLI::App& app, Context& context) {
    auto* cmd = app.add_subcommand("demo", "the quick-start job (runs reference_attention on the mission shape)");
    auto json = std::make_shared<bool>(false);
    cmd->add_flag("--json", *json, "one JSON object per compile (no GPU) or for the run");
    cmd->callback([&context, json] {
        context.exit_code = guarded(context, [&] {
            Runtime& rt = context.runtime();
            std::string why = gpu_unavailable_reason();
            if (!why.empty()) return compile_only_demo(rt, why, *json);

            const DeviceInfo& info = rt.device(0).info();
            if (!*json) std::cout << "GPU 0: " << info.name << " (sm_" << info.sm << ", " << info.num_sms << " SMs)\n";
            AttentionProblem problem = AttentionProblem::from_shape("1,8,8,512,512,64");
            problem.dtype = DType::f16;
            Variant variant = rt.variant("reference_attention", &problem);
            RunOptions options;
            options.verify = true;
            options.reference = ReferenceKind::cpu;
            options.eager_iterations = 20;
            options.graph_calls = 20;
            AttentionHarness harness(rt, problem, fresh_seed());
            RunReport report = harness.run(variant, options);
            // A second lookup in this process shows the memory tier.
            CacheLookup again = rt.build(variant, rt.device_target(variant));
            if (*json) {
                nlohmann::json row = report_json(report, harness);
                row.update({{"ran", true},
                            {"device", info.name},
                            {"again_source", to_string(again.source)},
                            {"again_us", again.lookup_ms * 1000.0},
                            {"cache", rt.cache().disk().root()}});
                std::cout << row.dump() << "\n";
                return report.passed ? kOk : kWorkFailed;
            }
            print_report(report, harness);
            std::cout << "again    " << to_string(again.source) << " hit in " << format_us(again.lookup_ms * 1000.0)
                      << " us (same process)\n"
                      << "cache    " << rt.cache().disk().root() << "\n";
            return report.passed ? kOk : kWorkFailed;
        });
    });
}

}  // namespace flashcore::cli
