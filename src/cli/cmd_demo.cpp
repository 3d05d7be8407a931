// `flashcore demo`: the quick-start job. With a GPU: JIT-compile reference_attention, run
// it on the mission shape (B=1, H=8, S=512, D=64, fp16), check it against a CPU fp64
// reference and show where the cubin came from. Without one: compile for sm_89 and sm_90a,
// print the resource report and say that nothing ran.
#include <iostream>

#include "cli/cmd_run.hpp"
#include "cli/commands.hpp"
#include "flashcore/driver.hpp"
#include "flashcore/error.hpp"

namespace flashcore::cli {

namespace {

int compile_only_demo(Runtime& rt, const std::string& why, const Context& context) {
    std::cout << "No GPU here (" << why << ").\nCompiling only — NOTHING RAN on a GPU.\n\n";
    Variant v = rt.variant("reference_attention:dtype=f16");
    int code = kOk;
    for (const char* arch : {"sm_89", "sm_90a"}) {
        try {
            CacheLookup r = rt.build(v, Target::parse(arch));
            const CacheEntry& e = *r.entry;
            const ResourceUsage& res = e.compiled.resources;
            std::cout << v.to_string() << " for " << arch << ": " << to_string(r.source) << " in "
                      << format_us(r.lookup_ms) << " ms (key " << e.key << ")\n  registers " << res.registers
                      << ", spill " << res.spill_store_bytes << " B, stack " << res.stack_bytes << " B, static smem "
                      << res.static_shared_bytes << " B, cubin " << e.compiled.cubin.size() << " B, "
                      << e.compiled.warnings.size() << " warnings\n";
        } catch (const Error& e) {
            code = report(e, context, true);
        }
    }
    std::cout << "\nCached in " << rt.cache().disk().root() << ". Run `make demo` on a machine with an NVIDIA GPU to "
                 "execute and verify the kernel.\n";
    return code;
}

}  // namespace

void register_demo(CLI::App& app, Context& context) {
    auto* cmd = app.add_subcommand("demo", "the quick-start job (runs reference_attention on the mission shape)");
    cmd->callback([&context] {
        context.exit_code = guarded(context, [&] {
            Runtime& rt = context.runtime();
            std::string why = gpu_unavailable_reason();
            if (!why.empty()) return compile_only_demo(rt, why, context);

            const DeviceInfo& info = rt.device(0).info();
            std::cout << "GPU 0: " << info.name << " (sm_" << info.sm << ", " << info.num_sms << " SMs)\n";
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
            print_report(report, harness);
            // A second lookup in this process shows the memory tier.
            CacheLookup again = rt.build(variant, rt.device_target(variant));
            std::cout << "again    " << to_string(again.source) << " hit in " << format_us(again.lookup_ms * 1000.0)
                      << " us (same process)\n"
                      << "cache    " << rt.cache().disk().root() << "\n";
            return report.passed ? kOk : kWorkFailed;
        });
    });
}

}  // namespace flashcore::cli
