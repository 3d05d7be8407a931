// `flashcore build VARIANT... [--arch A]...`: compile (or find in the cache) and report
// resources. Works with no GPU and no driver. Patterns expand: `block_m=*`, `copy=sync|pipeline`.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <iostream>
#include <mutex>

#include "cli/commands.hpp"
#include "flashcore/can_implement.hpp"
#include "flashcore/error.hpp"
#include "flashcore/launch.hpp"
#include "flashcore/render.hpp"
#include "flashcore/tools/parallel.hpp"

namespace flashcore::cli {

namespace {

struct BuildJob {
    Variant variant;
    Target target;
    std::optional<CacheLookup> result;
    std::optional<Error> error;
};

// Dynamic shared memory when the contract does not depend on the problem, else nullopt.
std::optional<std::size_t> static_dynamic_smem(const Variant& v) {
    try {
        return static_cast<std::size_t>(v.schema().launch.dynamic_smem.evaluate_int(v.names()));
    } catch (const Error&) {  // it reads problem fields
        return std::nullopt;
    }
}

// Whether the compiled variant fits the target's shared memory (can_implement without a
// problem: what the target alone decides). Only when both amounts are known.
std::optional<Fit> target_fit(const BuildJob& job, std::optional<std::size_t> dynamic) {
    const int optin = known_smem_optin(job.target.sm);
    if (!dynamic || optin <= 0) return std::nullopt;
    DeviceInfo facts = target_facts(job.target.sm, job.target.to_string());
    return can_implement(job.variant, FitQuery{nullptr, &facts, job.result->entry->compiled.resources.static_shared_bytes});
}

nlohmann::json job_json(const BuildJob& job) {
    nlohmann::json j = {{"variant", job.variant.to_string()}, {"arch", job.target.to_string()}};
    if (job.error) {
        j["ok"] = false;
        j["error"] = job.error->what();
        j["error_code"] = to_string(job.error->code());
        if (!job.error->info().log.empty()) j["log"] = job.error->info().log;
        return j;
    }
    const CacheEntry& e = *job.result->entry;
    const ResourceUsage& r = e.compiled.resources;
    auto dynamic = static_dynamic_smem(job.variant);
    int optin = known_smem_optin(job.target.sm);
    j["ok"] = true;
    j["key"] = e.key;
    j["nvrtc"] = e.components.nvrtc_version;
    j["source"] = to_string(job.result->source);
    j["compile_ms"] = e.compiled.compile_ms;
    j["lookup_ms"] = job.result->lookup_ms;
    j["registers"] = r.registers;
    j["spill_bytes"] = r.spill_store_bytes;
    j["spill_load_bytes"] = r.spill_load_bytes;
    j["stack_bytes"] = r.stack_bytes;
    j["shared_bytes"] = r.static_shared_bytes;
    j["dynamic_shared_bytes"] = dynamic ? nlohmann::json(*dynamic) : nlohmann::json(nullptr);
    if (auto fit = target_fit(job, dynamic)) {
        j["smem_optin_bytes"] = optin;
        j["smem_fits"] = fit->check != FitCheck::shared_memory;
    }
    j["warnings"] = e.compiled.warnings;
    j["lowered_name"] = e.compiled.lowered_name;
    return j;
}

void print_table_row(const BuildJob& job) {
    if (job.error) {
        std::cout << "FAIL " << job.variant.to_string() << " [" << job.target.to_string() << "]\n     " << job.error->what()
                  << "\n";
        return;
    }
    const CacheEntry& e = *job.result->entry;
    const ResourceUsage& r = e.compiled.resources;
    auto dynamic = static_dynamic_smem(job.variant);
    std::cout << "ok   " << job.variant.to_string() << " [" << job.target.to_string() << "]\n     key " << e.key << "  "
              << to_string(job.result->source) << " (" << format_us(job.result->lookup_ms) << " ms; compile "
              << format_us(e.compiled.compile_ms) << " ms)  regs " << r.registers << "  spill " << r.spill_store_bytes
              << "/" << r.spill_load_bytes << " B  stack " << r.stack_bytes << " B  smem static " << r.static_shared_bytes
              << " B";
    if (dynamic) std::cout << " + dynamic " << *dynamic << " B";
    if (auto fit = target_fit(job, dynamic))
        std::cout << (fit->ok() ? "  (fits " + job.target.to_string() + ")" : "\n     DOES NOT FIT: " + fit->message);
    std::cout << "\n";
    for (const auto& w : e.compiled.warnings) std::cout << "     warning: " << w << "\n";
}

}  // namespace

void register_build(CLI::App& app, Context& context) {
    auto* cmd = app.add_subcommand("build", "compile variants (no GPU needed) and report resources");
    struct Args {
        std::vector<std::string> variants;
        std::vector<std::string> archs;
        bool json = false;
        bool show_source = false;
        bool show_log = false;
        int jobs = 0;
        CompileFlags compile;
    };
    auto args = std::make_shared<Args>();
    cmd->add_option("variants", args->variants, "TEMPLATE[:name=value,...]; a value may be * or a|b")->required();
    cmd->add_option("--arch", args->archs, "target(s), e.g. sm_89 sm_90a (default: the GPU's)");
    cmd->add_flag("--json", args->json, "one JSON object per variant and arch per line");
    cmd->add_flag("--show-source", args->show_source, "print the rendered source of each variant");
    cmd->add_flag("--show-log", args->show_log, "print the compiler log of each variant");
    cmd->add_option("-j,--jobs", args->jobs, "parallel compiles (default: CPU count)");
    args->compile.add_to(*cmd);
    cmd->callback([&context, args] {
        context.exit_code = guarded(context, [&] {
            Runtime& rt = context.runtime();
            CompileOptions options = args->compile.options();
            std::vector<Target> targets;
            for (const auto& a : args->archs) targets.push_back(Target::parse(a));
            if (targets.empty()) {
                std::string why = gpu_unavailable_reason();
                if (!why.empty())
                    fail(Stage::validate, ErrorCode::bad_input,
                         "no GPU to take the target from (" + why + "); pass --arch, e.g. --arch sm_89 --arch sm_90a");
                Target t;
                t.sm = rt.device(0).info().sm;
                targets.push_back(t);
            }
            std::vector<BuildJob> jobs;
            for (const auto& text : args->variants) {
                size_t rejected = 0;
                std::vector<Variant> variants = text.find_first_of("*|") != std::string::npos
                                                    ? expand_variant_pattern(text, rt.templates(), &rejected)
                                                    : std::vector<Variant>{rt.variant(text)};
                if (rejected && !args->json)
                    std::cerr << text << ": " << variants.size() << " valid combinations (" << rejected
                              << " rejected by the schema's constraints)\n";
                for (const auto& v : variants)
                    for (const auto& t : targets) jobs.push_back({v, target_for(v.schema(), t), {}, {}});
            }
            if (args->show_source)
                for (const auto& job : jobs) std::cout << render(job.variant, rt.templates()).text << "\n";

            // Results stream out in input order as soon as a job and all before it are done, so
            // a long sweep shows its results while it runs and an interrupted one keeps them.
            Progress progress("building", jobs.size());
            std::mutex mutex;
            std::vector<char> done(jobs.size(), 0);
            size_t printed = 0;
            int code = kOk;
            auto emit_ready = [&] {  // called with `mutex` held
                while (printed < jobs.size() && done[printed]) {
                    const BuildJob& job = jobs[printed++];
                    if (args->json) std::cout << job_json(job).dump() << std::endl;
                    else print_table_row(job);
                    if (args->show_log && job.result) std::cout << job.result->entry->compiled.log << "\n";
                    if (job.error) {
                        if (!args->json && context.verbose && !job.error->info().log.empty())
                            std::cout << job.error->info().log << "\n";
                        code = std::max(code, job.error->is_usage_error() ? kBadInput : kWorkFailed);
                    }
                }
            };
            parallel_for(
                jobs.size(),
                [&](size_t i) {
                    try {
                        jobs[i].result = rt.build(jobs[i].variant, jobs[i].target, options);
                    } catch (const Error& e) {
                        jobs[i].error = e;
                    }
                    std::lock_guard<std::mutex> lock(mutex);
                    done[i] = 1;
                    progress.step(jobs[i].variant.to_string());
                    emit_ready();
                },
                args->jobs > 0 ? unsigned(args->jobs) : 0);
            progress.done();
            return code;
        });
    });
}

}  // namespace flashcore::cli
