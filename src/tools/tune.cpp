#include "flashcore/tools/tune.hpp"

#include <chrono>
#include <map>
#include <mutex>

#include "core/logging.hpp"
#include "flashcore/can_implement.hpp"
#include "flashcore/error.hpp"
#include "flashcore/problem_names.hpp"
#include "flashcore/runtime.hpp"
#include "flashcore/selection/families.hpp"
#include "flashcore/tools/parallel.hpp"
#include "tools/child_process.hpp"

namespace flashcore {

namespace {

std::int64_t now_unix_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// The family to tune: the one asked for, else the candidate pattern's template, else the
// default for the device and problem.
std::string family_of(Runtime& runtime, const TuneOptions& options, const DeviceInfo& device,
                      const AttentionProblem& problem) {
    if (!options.template_id.empty()) return options.template_id;
    if (!options.pattern.empty()) return split_variant_text(options.pattern).template_id;
    return default_tune_family(runtime, device, &problem);
}

// What a child that stopped answering leaves for the variant it was running.
ProbeResult lost_probe(const detail::ChildOutcome& child, std::chrono::milliseconds timeout) {
    ProbeResult lost;
    lost.exit_code = child.exit_code;
    lost.signal = child.signal;
    lost.wall_ms = child.wall_ms;
    lost.output = child.stderr_tail;
    if (child.spawn_failed) {
        lost.verdict = Verdict::launch_fault;
        lost.message = "cannot start the probe: " + child.stderr_tail;
    } else if (child.timed_out) {
        lost.verdict = Verdict::timeout;
        lost.message = "no answer within " + std::to_string(timeout.count()) + " ms; the probe was killed";
    } else {
        lost.verdict = Verdict::launch_fault;
        lost.message = child.signal ? "the probe died with signal " + std::to_string(child.signal)
                                    : "the probe exited with code " + std::to_string(child.exit_code) +
                                          " without a verdict";
    }
    return lost;
}

}  // namespace

ProcessBatchProber::ProcessBatchProber(std::string executable) : executable_(std::move(executable)) {}

void ProcessBatchProber::run(const std::vector<std::string>& variants, const ProbeRequest& base,
                             const std::function<void(const std::string&, const ProbeResult&)>& on_result) {
    size_t next = 0;
    while (next < variants.size()) {
        std::vector<std::string> argv = base.wrapper;
        argv.push_back(executable_);
        for (auto& a : probe_stdin_arguments()) argv.push_back(a);
        const std::vector<std::string> rest(variants.begin() + static_cast<long>(next), variants.end());
        size_t first = next;
        Verdict last = Verdict::ok;
        detail::ChildOutcome child = detail::run_child(
            argv, base.env, base.timeout,
            [&](const std::string& line) {
                if (line.empty() || line[0] != '{' || next >= variants.size()) return;
                ProbeResult result;
                if (!parse_probe_output(line, result)) return;
                result.output = line;
                last = result.verdict;
                on_result(variants[next++], result);
            },
            probe_document(base, rest));
        if (next == variants.size()) break;
        if (next > first && last == Verdict::launch_fault) continue;  // the child stopped after a fault
        // The variant in flight hung or took the child down with it.
        on_result(variants[next++], lost_probe(child, base.timeout));
    }
}

std::string default_tune_family(Runtime& runtime, const DeviceInfo& device, const AttentionProblem* problem) {
    const AutoFamily* best = nullptr;
    bool best_proposes = false;
    for (const AutoFamily& family : auto_families()) {
        auto schema = runtime.templates().find(family.template_id);
        if (!schema || device.sm < schema->min_sm || (schema->max_sm && device.sm > schema->max_sm)) continue;
        // A family whose heuristic takes the problem beats one that does not (on sm_90 decode
        // belongs to attention_mma although attention_wgmma ranks higher).
        bool proposes = problem && family.heuristic && !family.heuristic(*problem, device).empty();
        if (!best || (proposes && !best_proposes) || (proposes == best_proposes && family.rank > best->rank)) {
            best = &family;
            best_proposes = proposes;
        }
    }
    if (!best)
        fail(Stage::validate, ErrorCode::bad_input,
             "no `auto` family runs on sm_" + std::to_string(device.sm) + "; pass --template");
    return best->template_id;
}

std::vector<std::string> tune_candidates(Runtime& runtime, const TuneOptions& options, const AttentionProblem& problem,
                                         const DeviceInfo& device, std::size_t* rejected) {
    const std::string id = family_of(runtime, options, device, problem);
    auto schema = runtime.templates().schema(id);
    std::string pattern = options.pattern;
    if (pattern.empty()) {
        pattern = id;
        std::string fields;
        for (const auto& p : schema->params)
            if (!p.hidden && p.bind.empty() && p.values.size() > 1) fields += (fields.empty() ? "" : ",") + p.name + "=*";
        if (!fields.empty()) pattern += ":" + fields;
    }
    size_t invalid = 0;
    std::vector<Variant> variants =
        expand_variant_pattern(pattern, runtime.templates(), &invalid, problem_names(problem, &device));
    std::vector<std::string> out;
    for (const auto& v : variants) {
        if (Fit fit = can_implement(v, problem, device); !fit) {
            detail::log().debug("tune: {} rejected: {}", v.to_string(), fit.message);
            ++invalid;
            continue;
        }
        out.push_back(v.to_string());
        if (options.max_candidates && out.size() >= options.max_candidates) break;
    }
    if (rejected) *rejected = invalid;
    return out;
}

TuneReport tune(Runtime& runtime, const AttentionProblem& problem, const DeviceInfo& device, const TuneOptions& options,
                BatchProber& prober, const std::function<void(const TuneRecord&, std::size_t, std::size_t)>& progress) {
    problem.validate();
    Target target;
    target.sm = device.sm;
    TuneReport report;
    report.key = tune_key(runtime, family_of(runtime, options, device, problem), problem, target);
    TuneStore store(runtime.config().cache_dir);
    report.record_file = report.key.file_path(store.root());

    std::map<std::string, TuneRecord> known;
    if (!options.retune)
        for (auto& r : store.load(report.key)) known.emplace(r.variant, r);
    std::vector<std::string> candidates = tune_candidates(runtime, options, problem, device, &report.rejected);
    std::vector<std::string> to_time;
    for (const auto& c : candidates) {
        auto it = known.find(c);
        if (it != known.end()) {
            report.records.push_back(it->second);
            ++report.reused;
        } else {
            to_time.push_back(c);
        }
    }
    const std::size_t total = candidates.size();
    std::size_t done = report.reused;
    std::mutex mutex;
    auto finish = [&](TuneRecord record) {
        record.problem = problem.to_string();
        record.device = device.name;
        record.measured_unix_ms = now_unix_ms();
        store.append(report.key, record);
        std::lock_guard<std::mutex> lock(mutex);
        report.records.push_back(record);
        ++report.timed;
        if (progress) progress(record, ++done, total);
    };

    // Compile here, in parallel (compile-only: no GPU in this process); the probes then load
    // the cubins from the disk cache.
    std::vector<char> ok(to_time.size(), 0);
    parallel_for(to_time.size(), [&](std::size_t i) {
        try {
            runtime.build(runtime.variant(to_time[i], &problem), target, options.compile);
            ok[i] = 1;
        } catch (const Error& e) {
            TuneRecord r;
            r.variant = to_time[i];
            r.verdict = verdict_for(e);
            r.message = e.what();
            finish(r);
        }
    }, hardware_threads(16));
    std::vector<std::string> compiled;
    for (size_t i = 0; i < to_time.size(); ++i)
        if (ok[i]) compiled.push_back(to_time[i]);

    ProbeRequest base;
    base.problem = problem;
    base.seed = options.seed;
    base.verify = true;
    base.time = true;
    base.timeout = options.timeout;
    base.compile = options.compile;
    base.env = options.probe_env;
    base.env["FLASHCORE_CACHE_DIR"] = runtime.config().cache_dir;
    if (!compiled.empty())
        prober.run(compiled, base, [&](const std::string& variant, const ProbeResult& result) {
            TuneRecord r;
            r.variant = variant;
            r.verdict = result.verdict;
            r.us_median = result.us_graph;
            r.us_min = result.us_graph_min >= 0 ? result.us_graph_min : result.us_graph;
            r.us_max = result.us_graph_max >= 0 ? result.us_graph_max : result.us_graph;
            r.max_abs_err = result.max_abs_err;
            r.message = result.message;
            if (r.verdict == Verdict::ok && r.us_median <= 0) {
                r.verdict = Verdict::launch_fault;
                r.message = "the probe reported no timing";
            }
            finish(r);
        });
    for (const auto& r : report.records)
        if (r.verdict == Verdict::ok && r.us_median > 0 && (!report.best || r.us_median < report.best->us_median))
            report.best = r;
    return report;
}

}  // namespace flashcore
