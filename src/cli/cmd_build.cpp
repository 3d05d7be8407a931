// `flashcore build VARIANT... [--arch A]...`: compile (or find in the cache) and report
// resources. Works with no GPU and no driver. Patterns expand: `block_m=*`, `copy=sync|pipeline`.
// One bad variant is reported and the others still build; a variant that cannot run on the
// target (shared memory) fails the command (exit 1) though it compiled.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <iostream>
#include <mutex>
#include <sstream>

#include "cli/commands.hpp"
#include "flashcore/can_implement.hpp"
#include "flashcore/error.hpp"
#include "flashcore/launch.hpp"
#include "flashcore/render.hpp"
#include "flashcore/tools/parallel.hpp"

namespace flashcore::cli {

namespace {

using json = nlohmann::json;

struct BuildJob {
    std::string text;                // as given (the variant's canonical string once parsed)
    std::optional<Variant> variant;  // none: the text is not a valid variant
    std::optional<Target> target;
    std::optional<CacheLookup> result;
    std::optional<Error> error;
    std::optional<Fit> fit;  // whether it fits the target, when known
};

struct Args {
    std::vector<std::string> variants;
    std::vector<std::string> archs;
    bool json = false;
    bool show_source = false;
    bool show_log = false;
    bool list = false;
    int jobs = 0;
    CompileFlags compile;
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
std::optional<Fit> target_fit(const BuildJob& job) {
    const int optin = known_smem_optin(job.target->sm);
    if (!static_dynamic_smem(*job.variant) || optin <= 0) return std::nullopt;
    DeviceInfo facts = target_facts(job.target->sm, job.target->to_string());
    return can_implement(*job.variant, FitQuery{nullptr, &facts, job.result->entry->compiled.resources.static_shared_bytes});
}

std::string where(const BuildJob& job) { return job.text + (job.target ? " [" + job.target->to_string() + "]" : ""); }

bool failed(const BuildJob& job) { return job.error || (job.fit && !job.fit->ok()); }

// Every row has the same keys; what a failed row does not know is null.
json job_json(const BuildJob& job, const Args& args, const std::string& rendered) {
    json j = {{"variant", job.text}, {"arch", job.target ? json(job.target->to_string()) : json(nullptr)}};
    for (const char* key : {"ok", "error", "error_code", "error_stage", "key", "nvrtc", "source", "compile_ms",
                            "lookup_ms", "registers", "spill_bytes", "spill_load_bytes", "stack_bytes", "shared_bytes",
                            "dynamic_shared_bytes", "smem_optin_bytes", "smem_fits", "warnings", "lowered_name"})
        j[key] = nullptr;
    if (args.show_source) j["rendered_source"] = rendered.empty() ? json(nullptr) : json(rendered);
    if (job.error) {
        j["ok"] = false;
        j["error"] = job.error->what();
        j["error_code"] = to_string(job.error->code());
        j["error_stage"] = to_string(job.error->stage());
        j["log"] = job.error->info().log.empty() ? json(nullptr) : json(job.error->info().log);
        return j;
    }
    const CacheEntry& e = *job.result->entry;
    const ResourceUsage& r = e.compiled.resources;
    auto dynamic = static_dynamic_smem(*job.variant);
    j["ok"] = !failed(job);
    if (job.fit && !job.fit->ok()) {
        j["error"] = "does not fit " + job.target->to_string() + ": " + job.fit->message;
        j["error_code"] = to_string(ErrorCode::resource_exceeded);
        j["error_stage"] = to_string(Stage::validate);
    }
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
    j["dynamic_shared_bytes"] = dynamic ? json(*dynamic) : json(nullptr);
    if (job.fit) {
        j["smem_optin_bytes"] = known_smem_optin(job.target->sm);
        j["smem_fits"] = job.fit->check != FitCheck::shared_memory;
    }
    j["warnings"] = e.compiled.warnings;
    j["lowered_name"] = e.compiled.lowered_name;
    if (args.show_log) j["log"] = e.compiled.log;
    return j;
}

std::string table_row(const BuildJob& job) {
    std::ostringstream out;
    if (job.error) {
        out << "FAIL " << where(job) << "\n     " << job.error->what() << "\n";
        return out.str();
    }
    const CacheEntry& e = *job.result->entry;
    const ResourceUsage& r = e.compiled.resources;
    auto dynamic = static_dynamic_smem(*job.variant);
    out << "ok   " << where(job) << "\n     key " << e.key << "  " << to_string(job.result->source) << " ("
        << format_us(job.result->lookup_ms) << " ms; compile " << format_us(e.compiled.compile_ms) << " ms)  regs "
        << r.registers << "  spill " << r.spill_store_bytes << "/" << r.spill_load_bytes << " B  stack " << r.stack_bytes
        << " B  smem static " << r.static_shared_bytes << " B";
    if (dynamic) out << " + dynamic " << *dynamic << " B";
    if (job.fit)
        out << (job.fit->ok() ? "  (fits " + job.target->to_string() + ")" : "\n     DOES NOT FIT: " + job.fit->message);
    out << "\n";
    for (const auto& w : e.compiled.warnings) out << "     warning: " << w << "\n";
    return out.str();
}

// The reason of a failed job, for stderr (stdout holds the result rows).
std::string failure_line(const BuildJob& job) {
    if (job.error)
        return "flashcore: error [" + std::string(to_string(job.error->stage())) + "/" + to_string(job.error->code()) +
               "]: " + where(job) + ": " + job.error->what() + "\n";
    return "flashcore: error [validate/resource_exceeded]: " + where(job) + " does not fit " + job.target->to_string() +
           ": " + job.fit->message + "\n";
}

std::vector<Target> build_targets(Runtime& rt, const Args& args) {
    std::vector<Target> targets;
    for (const auto& a : args.archs) targets.push_back(Target::parse(a));
    if (targets.empty()) {
        std::string why = gpu_unavailable_reason();
        if (!why.empty())
            fail(Stage::validate, ErrorCode::bad_input,
                 "no GPU to take the target from (" + why + "); pass --arch, e.g. --arch sm_89 --arch sm_90a");
        Target t;
        t.sm = rt.device(0).info().sm;
        targets.push_back(t);
    }
    return targets;
}

// The variants of each text (a pattern expands), or the error that makes the text invalid.
// A pattern says how many variants it stands for before anything is compiled.
std::vector<BuildJob> expand_texts(Runtime& rt, const Args& args) {
    std::vector<BuildJob> out;
    for (const auto& text : args.variants) {
        try {
            if (text.find_first_of("*|") == std::string::npos) {
                out.push_back({text, rt.variant(text), {}, {}, {}, {}});
                continue;
            }
            size_t rejected = 0;
            std::vector<Variant> variants = expand_variant_pattern(text, rt.templates(), &rejected);
            std::cerr << text << ": " << variants.size() << " variant" << (variants.size() == 1 ? "" : "s");
            if (rejected) std::cerr << " (" << rejected << " combinations rejected by the schema's constraints)";
            std::cerr << "\n";
            for (auto& v : variants) out.push_back({v.to_string(), v, {}, {}, {}, {}});
        } catch (const Error& e) {
            BuildJob bad{text, {}, {}, {}, e, {}};
            out.push_back(bad);
        }
    }
    for (auto& job : out)
        if (job.variant) job.text = job.variant->to_string();
    return out;
}

int list_variants(const std::vector<BuildJob>& jobs, const Args& args) {
    int code = kOk;
    for (const auto& job : jobs) {
        if (args.json) {
            json j = {{"variant", job.text}, {"ok", !job.error}, {"error", nullptr}, {"error_code", nullptr}};
            if (job.error) j["error"] = job.error->what(), j["error_code"] = to_string(job.error->code());
            std::cout << j.dump() << "\n";
        } else if (!job.error) {
            std::cout << job.text << "\n";
        }
        if (job.error) {
            std::cerr << failure_line(job);
            code = kBadInput;
        }
    }
    return code;
}

int run_build(Context& context, const Args& args) {
    Runtime& rt = context.runtime();
    CompileOptions options = args.compile.options();
    std::vector<BuildJob> texts = expand_texts(rt, args);
    if (args.list) return list_variants(texts, args);
    std::vector<Target> targets = build_targets(rt, args);
    std::vector<BuildJob> jobs;
    for (const auto& t : texts) {
        if (!t.variant) {
            jobs.push_back(t);
            continue;
        }
        for (const auto& target : targets) {
            BuildJob job = t;
            job.target = target_for(t.variant->schema(), target);
            jobs.push_back(job);
        }
    }
    const bool pattern = std::any_of(args.variants.begin(), args.variants.end(),
                                     [](const std::string& t) { return t.find_first_of("*|") != std::string::npos; });
    const auto valid = std::count_if(texts.begin(), texts.end(), [](const BuildJob& j) { return j.variant.has_value(); });
    if (pattern && jobs.size() > 1)  // say what is coming before the first compile
        std::cerr << valid * targets.size() << " builds (" << valid << " variant" << (valid == 1 ? "" : "s") << " x "
                  << targets.size() << " target" << (targets.size() == 1 ? "" : "s") << ")\n";
    if (args.show_source && !args.json)
        for (const auto& job : jobs)
            if (job.variant) std::cout << render(*job.variant, rt.templates()).text << "\n";

    // Results stream out in input order as soon as a job and all before it are done, so a
    // long sweep shows its results while it runs and an interrupted one keeps them.
    Progress progress("building", jobs.size());
    std::mutex mutex;
    std::vector<char> done(jobs.size(), 0);
    size_t printed = 0, failures = 0;
    int code = kOk;
    auto emit_ready = [&] {  // called with `mutex` held
        while (printed < jobs.size() && done[printed]) {
            const BuildJob& job = jobs[printed++];
            std::string out;
            if (args.json) {
                std::string rendered;
                if (args.show_source && job.variant) rendered = render(*job.variant, rt.templates()).text;
                out = job_json(job, args, rendered).dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
            } else {
                out = table_row(job);
                if (args.show_log && job.result) out += job.result->entry->compiled.log + "\n";
                if (job.error && context.verbose && !job.error->info().log.empty()) out += job.error->info().log + "\n";
            }
            progress.write(std::cout, out);
            if (failed(job)) {
                ++failures;
                progress.write(std::cerr, failure_line(job));
                code = std::max(code, job.error && job.error->is_usage_error() ? kBadInput : kWorkFailed);
            }
        }
    };
    parallel_for(
        jobs.size(),
        [&](size_t i) {
            BuildJob& job = jobs[i];
            if (job.variant) {
                progress.start(job.text);
                try {
                    job.result = rt.build(*job.variant, *job.target, options);
                    job.fit = target_fit(job);
                } catch (const Error& e) {
                    job.error = e;
                }
            }
            std::lock_guard<std::mutex> lock(mutex);
            done[i] = 1;
            if (job.variant) progress.step(job.text);
            emit_ready();
        },
        args.jobs > 0 ? unsigned(args.jobs) : 0);
    progress.done();
    if (failures && jobs.size() > 1)
        std::cerr << "flashcore: " << failures << " of " << jobs.size() << " builds failed\n";
    return code;
}

}  // namespace

void register_build(CLI::App& app, Context& context) {
    auto* cmd = app.add_subcommand("build", "compile variants (no GPU needed) and report resources");
    auto args = std::make_shared<Args>();
    cmd->add_option("variants", args->variants, "TEMPLATE[:name=value,...]; a value may be * or a|b")->required();
    cmd->add_option("--arch", args->archs, "target(s), e.g. sm_89 sm_90a (default: the GPU's)");
    cmd->add_flag("--json", args->json, "one JSON object per variant and arch per line");
    cmd->add_flag("--list", args->list, "print the variants the arguments stand for (patterns expanded); compile nothing");
    cmd->add_flag("--show-source", args->show_source,
                  "print the rendered source of each variant (with --json: its \"rendered_source\" field)");
    cmd->add_flag("--show-log", args->show_log, "print the compiler log of each variant (with --json: its \"log\" field)");
    cmd->add_option("-j,--jobs", args->jobs, "parallel compiles (default: CPU count)");
    args->compile.add_to(*cmd);
    cmd->callback([&context, args] { context.exit_code = guarded(context, [&] { return run_build(context, *args); }); });
}

}  // namespace flashcore::cli
