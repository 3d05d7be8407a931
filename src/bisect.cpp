#include "flashcore/bisect.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "flashcore/error.hpp"

namespace flashcore {

namespace fs = std::filesystem;

const char* to_string(BisectPhase phase) {
    switch (phase) {
        case BisectPhase::confirm_good: return "confirm_good";
        case BisectPhase::confirm_bad: return "confirm_bad";
        case BisectPhase::search: return "search";
        case BisectPhase::reduce: return "reduce";
        case BisectPhase::localise: return "localise";
    }
    return "?";
}

const char* to_string(BisectStatus status) {
    switch (status) {
        case BisectStatus::found: return "found";
        case BisectStatus::budget_exhausted: return "budget_exhausted";
        case BisectStatus::good_not_ok: return "good_not_ok";
        case BisectStatus::bad_is_ok: return "bad_is_ok";
        case BisectStatus::bad_is_invalid: return "bad_is_invalid";
        case BisectStatus::identical: return "identical";
    }
    return "?";
}

namespace {

// The request that rebuilds `base` with every field spelled out, `overrides` applied.
Variant with_values(const Variant& base, const std::map<std::string, std::string>& overrides) {
    VariantRequest request{base.template_id(), {}};
    const auto& params = base.schema().params;
    for (size_t i = 0; i < params.size(); ++i) {
        auto it = overrides.find(params[i].name);
        request.fields.emplace_back(params[i].name, it != overrides.end() ? it->second : to_string(base.values()[i]));
    }
    for (const auto& [name, text] : overrides)
        if (!base.schema().find_param(name))
            fail(Stage::validate, ErrorCode::bad_input, "template '" + base.template_id() + "' has no field '" + name + "'");
    return Variant::resolve(request, base.schema_ptr());
}

bool failing(const ProbeResult& r) { return r.verdict != Verdict::ok && r.verdict != Verdict::invalid; }

std::string verdict_line(const ProbeResult& r) {
    std::string out = to_string(r.verdict);
    if (!r.message.empty()) {
        std::string message = r.message;
        if (message.size() > 300) message = message.substr(0, 297) + "...";
        out += ": " + message;
    }
    return out;
}

std::string join(const std::vector<std::string>& items, const std::string& separator) {
    std::string out;
    for (size_t i = 0; i < items.size(); ++i) out += (i ? separator : "") + items[i];
    return out;
}

const char* stage_label(const std::string& stage) {
    if (stage == "qk") return "QKᵀ";
    if (stage == "softmax") return "softmax";
    return "P·V (or the final normalisation)";
}

// Every k-subset of {0..n-1}, lexicographic (so schema order for the first field first).
std::vector<std::vector<size_t>> combinations(size_t n, size_t k) {
    std::vector<std::vector<size_t>> out;
    if (k == 0 || k > n) return out;
    std::vector<size_t> c(k);
    for (size_t i = 0; i < k; ++i) c[i] = i;
    for (;;) {
        out.push_back(c);
        size_t i = k;
        while (i > 0 && c[i - 1] == n - k + i - 1) --i;
        if (i == 0) break;
        ++c[i - 1];
        for (size_t j = i; j < k; ++j) c[j] = c[j - 1] + 1;
    }
    return out;
}

class Search {
public:
    Search(const Variant& good, const Variant& bad, ProbeRunner& runner, const ProbeRequest& base,
           const BisectOptions& options, const std::function<void(const BisectStep&)>& on_step, BisectReport& report)
        : good_(good), bad_(bad), runner_(runner), base_(base), options_(options), on_step_(on_step), report_(report) {
        const auto& params = good.schema().params;
        for (size_t i = 0; i < params.size(); ++i)
            if (good.values()[i] != bad.values()[i]) diff_.push_back(i);
        const ParamSpec* stage = good.schema().find_param("stage");
        has_stage_ = stage && stage->index_of(Value{std::string("qk")}).has_value();
    }

    void run();

private:
    std::size_t left() const { return options_.max_probes - report_.probes; }
    // Probes the search may still spend, keeping `reserve_` for stage localisation.
    std::size_t search_left() const { return left() > reserve_ ? left() - reserve_ : 0; }

    std::vector<std::string> names_of(const std::vector<size_t>& subset) const {
        std::vector<std::string> out;
        for (size_t d : subset) out.push_back(good_.schema().params[diff_[d]].name);
        return out;
    }
    std::vector<std::string> changes_of(const std::vector<size_t>& subset) const {
        std::vector<std::string> out;
        for (size_t d : subset) {
            size_t p = diff_[d];
            out.push_back(good_.schema().params[p].name + ": " + to_string(good_.values()[p]) + " -> " +
                          to_string(bad_.values()[p]));
        }
        return out;
    }

    std::size_t record(BisectStep step) {
        step.index = report_.steps.size();
        report_.steps.push_back(std::move(step));
        if (on_step_) on_step_(report_.steps.back());
        return report_.steps.back().index;
    }

    // Runs the probe of `variant` (or reuses an earlier probe of the same variant).
    std::size_t probe(BisectPhase phase, const Variant& variant, std::vector<std::string> fields,
                      std::vector<std::string> changes) {
        BisectStep step;
        step.phase = phase;
        step.variant = variant.to_string();
        step.fields = std::move(fields);
        step.changes = std::move(changes);
        auto seen = by_variant_.find(step.variant);
        if (seen != by_variant_.end()) {
            step.reused = true;
            step.result = report_.steps[seen->second].result;
            return record(std::move(step));
        }
        if (options_.on_probe_start) {
            step.index = report_.steps.size();
            options_.on_probe_start(step);
        }
        ProbeRequest request = base_;
        request.variant = step.variant;
        step.probed = true;
        ++report_.probes;
        try {
            step.result = runner_.run(request);
        } catch (const std::exception& e) {  // a runner should not throw; keep searching if it does
            step.result = ProbeResult{};
            step.result.verdict = Verdict::launch_fault;
            step.result.message = std::string("the probe runner failed: ") + e.what();
        }
        if (step.result.variant.empty()) step.result.variant = step.variant;
        std::size_t index = record(std::move(step));
        by_variant_[report_.steps[index].variant] = index;
        return index;
    }

    // The step for the good variant with `subset` (indices into diff_) changed; nullopt when
    // it would need a probe and the search budget is spent.
    std::optional<std::size_t> try_subset(BisectPhase phase, const std::vector<size_t>& subset) {
        auto known = by_subset_.find(subset);
        if (known != by_subset_.end()) return known->second;
        std::vector<std::string> names = names_of(subset);
        std::optional<Variant> variant;
        std::string invalid_message;
        try {
            variant = with_fields_of(good_, bad_, names);
        } catch (const Error& e) {
            if (e.code() != ErrorCode::bad_input) throw;
            invalid_message = e.info().message;
        }
        if (!variant) {
            BisectStep step;
            step.phase = phase;
            std::map<std::string, std::string> spelled;
            for (const auto& n : names) spelled[n] = to_string(bad_.value(n));
            step.variant = good_.template_id();
            std::string fields;
            for (const auto& p : good_.schema().params) {
                auto it = spelled.find(p.name);
                const std::string value = it != spelled.end() ? it->second : to_string(good_.value(p.name));
                if (p.hidden && it == spelled.end() && good_.value(p.name) == p.default_value) continue;
                fields += (fields.empty() ? "" : ",") + p.name + "=" + value;
            }
            if (!fields.empty()) step.variant += ":" + fields;
            step.fields = names;
            step.changes = changes_of(subset);
            step.result.verdict = Verdict::invalid;
            step.result.variant = step.variant;
            step.result.message = invalid_message;
            step.result.exit_code = 0;
            ++report_.skipped_invalid;
            std::size_t index = record(std::move(step));
            by_subset_[subset] = index;
            return index;
        }
        if (!by_variant_.count(variant->to_string()) && search_left() == 0) return std::nullopt;
        std::size_t index = probe(phase, *variant, names, changes_of(subset));
        by_subset_[subset] = index;
        return index;
    }

    bool step_fails(std::size_t index) const { return failing(report_.steps[index].result); }

    void add_culprit(const std::vector<size_t>& subset, std::size_t step, bool smallest, bool minimal) {
        Culprit c;
        c.fields = names_of(subset);
        c.changes = changes_of(subset);
        c.variant = report_.steps[step].variant;
        c.result = report_.steps[step].result;
        c.step = step;
        c.smallest = smallest;
        c.minimal = minimal;
        report_.culprits.push_back(std::move(c));
    }

    // Would the exhaustive level of `k`-subsets fit in the search budget?
    bool level_fits(std::size_t k) {
        std::size_t needed = 0;
        for (const auto& subset : combinations(diff_.size(), k)) {
            if (by_subset_.count(subset)) continue;
            try {
                Variant v = with_fields_of(good_, bad_, names_of(subset));
                if (!by_variant_.count(v.to_string())) ++needed;
            } catch (const Error& e) {
                if (e.code() != ErrorCode::bad_input) throw;
            }
        }
        return needed <= search_left();
    }

    void reduce();
    void localise(Culprit& culprit);
    void summarise();

    const Variant& good_;
    const Variant& bad_;
    ProbeRunner& runner_;
    const ProbeRequest& base_;
    const BisectOptions& options_;
    const std::function<void(const BisectStep&)>& on_step_;
    BisectReport& report_;
    std::vector<size_t> diff_;  // indices of the differing params, schema order
    bool has_stage_ = false;
    std::size_t reserve_ = 0;
    std::map<std::string, std::size_t> by_variant_;
    std::map<std::vector<size_t>, std::size_t> by_subset_;
};

void Search::run() {
    report_.good = good_.to_string();
    report_.bad = bad_.to_string();
    report_.differences = variant_differences(good_, bad_);
    report_.max_probes = options_.max_probes;
    if (diff_.empty()) {
        report_.status = BisectStatus::identical;
        summarise();
        return;
    }
    std::vector<size_t> all(diff_.size());
    for (size_t i = 0; i < all.size(); ++i) all[i] = i;

    std::size_t good_step = probe(BisectPhase::confirm_good, good_, {}, {});
    std::size_t bad_step = probe(BisectPhase::confirm_bad, bad_, names_of(all), changes_of(all));
    by_subset_[{}] = good_step;
    by_subset_[all] = bad_step;
    const ProbeResult& g = report_.steps[good_step].result;
    const ProbeResult& b = report_.steps[bad_step].result;
    if (g.verdict != Verdict::ok) {
        report_.status = BisectStatus::good_not_ok;
        summarise();
        return;
    }
    if (b.verdict == Verdict::ok) {
        report_.status = BisectStatus::bad_is_ok;
        summarise();
        return;
    }
    if (b.verdict == Verdict::invalid) {
        report_.status = BisectStatus::bad_is_invalid;
        summarise();
        return;
    }
    // Keep two probes for localising a mismatch (the bad variant's verdict is a hint only: a
    // smaller change may fail differently, so keep them whenever the template can localise).
    if (options_.localise_stage && has_stage_) reserve_ = std::min<std::size_t>(2, left());

    const std::size_t n = diff_.size();
    std::size_t k = 1;
    bool found = false;
    for (; k <= std::min(n, options_.max_exhaustive_size); ++k) {
        if (!level_fits(k)) break;
        std::vector<std::pair<std::vector<size_t>, std::size_t>> failures;
        for (const auto& subset : combinations(n, k)) {
            std::optional<std::size_t> step = try_subset(BisectPhase::search, subset);
            if (step && step_fails(*step)) failures.emplace_back(subset, *step);
        }
        if (!failures.empty()) {
            for (const auto& [subset, step] : failures) add_culprit(subset, step, true, true);
            found = true;
            break;
        }
    }
    if (!found) {
        if (k == n) {
            // Every smaller change was tried and passes (or is invalid): the whole difference is it.
            add_culprit(all, bad_step, true, true);
        } else {
            reduce();
        }
    }
    report_.status = std::all_of(report_.culprits.begin(), report_.culprits.end(), [](const Culprit& c) { return c.minimal; })
                         ? BisectStatus::found
                         : BisectStatus::budget_exhausted;
    reserve_ = 0;
    if (options_.localise_stage && has_stage_)
        for (auto& culprit : report_.culprits)
            if (culprit.result.verdict == Verdict::mismatch) localise(culprit);
    summarise();
}

// ddmin (Zeller & Hildebrandt) from the whole difference, which is known to fail.
void Search::reduce() {
    std::vector<size_t> c(diff_.size());
    for (size_t i = 0; i < c.size(); ++i) c[i] = i;
    std::size_t c_step = by_subset_.at(c);
    std::size_t granularity = 2;
    bool budget_spent = false;
    while (c.size() >= 2 && !budget_spent) {
        granularity = std::min(granularity, c.size());
        std::vector<std::vector<size_t>> chunks;
        for (size_t i = 0; i < granularity; ++i) {
            size_t begin = c.size() * i / granularity, end = c.size() * (i + 1) / granularity;
            chunks.emplace_back(c.begin() + static_cast<std::ptrdiff_t>(begin), c.begin() + static_cast<std::ptrdiff_t>(end));
        }
        bool reduced = false;
        for (const auto& chunk : chunks) {
            auto step = try_subset(BisectPhase::reduce, chunk);
            if (!step) {
                budget_spent = true;
                break;
            }
            if (step_fails(*step)) {
                c = chunk;
                c_step = *step;
                granularity = 2;
                reduced = true;
                break;
            }
        }
        if (!reduced && !budget_spent && granularity > 2) {
            for (const auto& chunk : chunks) {
                std::vector<size_t> complement;
                std::set_difference(c.begin(), c.end(), chunk.begin(), chunk.end(), std::back_inserter(complement));
                auto step = try_subset(BisectPhase::reduce, complement);
                if (!step) {
                    budget_spent = true;
                    break;
                }
                if (step_fails(*step)) {
                    c = complement;
                    c_step = *step;
                    granularity = std::max<std::size_t>(granularity - 1, 2);
                    reduced = true;
                    break;
                }
            }
        }
        if (reduced || budget_spent) continue;
        if (granularity >= c.size()) break;  // every single field is needed: 1-minimal
        granularity = std::min(c.size(), granularity * 2);
    }
    add_culprit(c, c_step, false, !budget_spent);
}

void Search::localise(Culprit& culprit) {
    StageLocalisation& loc = culprit.stage;
    const ParamSpec* spec = good_.schema().find_param("stage");
    Variant variant = with_fields_of(good_, bad_, culprit.fields);
    const std::string own = to_string(variant.value("stage"));
    if (own != "qk" && own != "softmax" && own != "full") return;
    loc.attempted = true;
    for (const char* stage : {"qk", "softmax"}) {
        if (own == stage) {
            loc.first_wrong = stage_label(own);
            loc.detail += std::string(loc.detail.empty() ? "" : "; ") + "the culprit itself stops at stage=" + own;
            return;
        }
        if (!spec->index_of(Value{std::string(stage)})) continue;
        std::optional<Variant> debug;
        try {
            debug = with_values(variant, {{"stage", stage}});
        } catch (const Error& e) {
            loc.detail += std::string(loc.detail.empty() ? "" : "; ") + "stage=" + stage + " is invalid here (" +
                          e.info().message + ")";
            return;
        }
        if (!by_variant_.count(debug->to_string()) && left() == 0) {
            loc.detail += std::string(loc.detail.empty() ? "" : "; ") + "probe budget spent before stage=" + stage;
            return;
        }
        std::size_t step = probe(BisectPhase::localise, *debug, {"stage"},
                                 {"stage: " + own + " -> " + stage});
        loc.steps.push_back(step);
        const ProbeResult& r = report_.steps[step].result;
        std::string line = std::string("stage=") + stage + ": " + to_string(r.verdict);
        if (r.max_abs_err >= 0) {
            std::ostringstream err;
            err << " (max abs error " << r.max_abs_err << ")";
            line += err.str();
        }
        loc.detail += (loc.detail.empty() ? "" : "; ") + line;
        if (r.verdict == Verdict::mismatch) {
            loc.first_wrong = stage_label(stage);
            return;
        }
        if (r.verdict != Verdict::ok) {
            loc.detail += " — inconclusive";
            return;
        }
    }
    loc.first_wrong = stage_label("full");
}

void Search::summarise() {
    std::ostringstream s;
    s << "bisect " << good_.template_id() << "\n  good " << report_.good << "\n  bad  " << report_.bad << "\n";
    if (!report_.differences.empty())
        s << "  differences (" << report_.differences.size() << "): " << join(report_.differences, ", ") << "\n";
    auto verdict_of = [&](BisectPhase phase) -> std::string {
        for (const auto& step : report_.steps)
            if (step.phase == phase) return verdict_line(step.result);
        return "not probed";
    };
    switch (report_.status) {
        case BisectStatus::identical:
            s << "good and bad are the same variant: nothing to bisect\n";
            break;
        case BisectStatus::good_not_ok:
            s << "the GOOD variant is not ok (" << verdict_of(BisectPhase::confirm_good)
              << "); pick a good variant that passes. (bad: " << verdict_of(BisectPhase::confirm_bad) << ")\n";
            break;
        case BisectStatus::bad_is_ok:
            s << "the BAD variant passes on this problem and seed: nothing to bisect (good is ok too)\n";
            break;
        case BisectStatus::bad_is_invalid:
            s << "the BAD variant is invalid (" << verdict_of(BisectPhase::confirm_bad) << ")\n";
            break;
        case BisectStatus::found:
        case BisectStatus::budget_exhausted: {
            if (report_.status == BisectStatus::budget_exhausted)
                s << "the probe budget (" << options_.max_probes
                  << ") ran out: the change below fails but may not be minimal\n";
            s << (report_.culprits.size() == 1 ? "culprit" : std::to_string(report_.culprits.size()) + " culprits")
              << (report_.culprits.size() > 1 ? " (tied, each alone turns good into bad)" : "") << ":\n";
            for (const auto& c : report_.culprits) {
                s << "  * " << join(c.changes, " + ") << "  =>  " << verdict_line(c.result) << "\n";
                s << "    variant " << c.variant << "\n";
                if (c.minimal && !c.smallest)
                    s << "    (reduced by delta debugging: every field of it is needed; a smaller change of other "
                         "fields may exist)\n";
                if (c.stage.attempted) {
                    s << "    first wrong: "
                      << (c.stage.first_wrong.empty() ? "not localised" : c.stage.first_wrong) << "  ["
                      << c.stage.detail << "]\n";
                }
            }
            break;
        }
    }
    s << "probes: " << report_.probes << " run (at most " << options_.max_probes << ")";
    if (report_.skipped_invalid) s << ", " << report_.skipped_invalid << " invalid combination(s) skipped";
    s << "\n";
    report_.summary = s.str();
}

}  // namespace

Variant with_fields_of(const Variant& base, const Variant& to, const std::vector<std::string>& names) {
    if (base.template_id() != to.template_id())
        fail(Stage::validate, ErrorCode::bad_input,
             "variants of different templates: " + base.template_id() + " and " + to.template_id());
    std::map<std::string, std::string> overrides;
    for (const auto& name : names) overrides[name] = to_string(to.value(name));
    return with_values(base, overrides);
}

BisectReport bisect(const Variant& good, const Variant& bad, const TemplateRegistry& registry, ProbeRunner& runner,
                    const ProbeRequest& base, const BisectOptions& options,
                    const std::function<void(const BisectStep&)>& on_step) {
    if (good.template_id() != bad.template_id())
        fail(Stage::validate, ErrorCode::bad_input,
             "bisect needs two variants of one template, got " + good.template_id() + " and " + bad.template_id());
    if (options.max_probes < 2)
        fail(Stage::validate, ErrorCode::bad_input,
             "bisect needs at least 2 probes (one for the good and one for the bad variant)");
    (void)registry.schema(good.template_id());  // the template must still be known
    BisectReport report;
    Search search(good, bad, runner, base, options, on_step, report);
    search.run();
    return report;
}

namespace {

nlohmann::json result_json(const ProbeResult& r) {
    nlohmann::json j = {{"verdict", to_string(r.verdict)}, {"variant", r.variant}, {"message", r.message},
                        {"exit_code", r.exit_code},         {"wall_ms", r.wall_ms}};
    if (r.signal) j["signal"] = r.signal;
    if (r.max_abs_err >= 0) j["max_abs_err"] = r.max_abs_err;
    if (r.mean_abs_err >= 0) j["mean_abs_err"] = r.mean_abs_err;
    if (r.us_graph >= 0) j["us_graph"] = r.us_graph;
    if (r.us_eager >= 0) j["us_eager"] = r.us_eager;
    if (!r.cache_source.empty()) j["source"] = r.cache_source;
    return j;
}

nlohmann::json step_json(const BisectStep& s) {
    nlohmann::json j = result_json(s.result);
    j["step"] = s.index;
    j["phase"] = to_string(s.phase);
    j["variant"] = s.variant;
    j["fields"] = s.fields;
    j["changes"] = s.changes;
    j["probed"] = s.probed;
    if (s.reused) j["reused"] = true;
    return j;
}

}  // namespace

std::string to_json(const ProbeResult& result) { return result_json(result).dump(); }
std::string to_json(const BisectStep& step) { return step_json(step).dump(); }

std::string to_json(const BisectReport& r) {
    nlohmann::json j = {{"status", to_string(r.status)},
                        {"good", r.good},
                        {"bad", r.bad},
                        {"differences", r.differences},
                        {"probes", r.probes},
                        {"max_probes", r.max_probes},
                        {"skipped_invalid", r.skipped_invalid},
                        {"summary", r.summary}};
    j["culprits"] = nlohmann::json::array();
    for (const auto& c : r.culprits) {
        nlohmann::json cj = {{"fields", c.fields},       {"changes", c.changes}, {"variant", c.variant},
                             {"verdict", to_string(c.result.verdict)}, {"message", c.result.message},
                             {"step", c.step},           {"smallest", c.smallest}, {"minimal", c.minimal}};
        if (c.result.max_abs_err >= 0) cj["max_abs_err"] = c.result.max_abs_err;
        if (c.stage.attempted)
            cj["stage"] = {{"first_wrong", c.stage.first_wrong}, {"detail", c.stage.detail}, {"steps", c.stage.steps}};
        j["culprits"].push_back(std::move(cj));
    }
    j["steps"] = nlohmann::json::array();
    for (const auto& s : r.steps) j["steps"].push_back(step_json(s));
    return j.dump();
}

// ---- repro helpers ---------------------------------------------------------------------

std::string shell_quote(const std::string& word) {
    bool plain = !word.empty();
    for (char ch : word) {
        const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                        std::string("_-./:=,+@%").find(ch) != std::string::npos;
        plain = plain && ok;
    }
    if (plain) return word;
    std::string out = "'";
    for (char ch : word) {
        if (ch == '\'') out += "'\\''";
        else out += ch;
    }
    return out + "'";
}

std::string repro_script(const std::string& executable, const ProbeRequest& request, const std::string& comment) {
    std::ostringstream s;
    s << "#!/bin/sh\n";
    if (!comment.empty()) {
        std::istringstream lines(comment);
        for (std::string line; std::getline(lines, line);) s << "# " << line << "\n";
    }
    s << "# Reruns one probe; prints its JSON verdict line (exit 0 = ok). Extra arguments are passed on,\n"
         "# e.g. ./repro.sh -v, or FLASHCORE_PROBE_WRAPPER='compute-sanitizer --tool memcheck' ./repro.sh\n"
         "set -e\n";
    for (const auto& [key, value] : request.env) s << "export " << key << "=" << shell_quote(value) << "\n";
    s << "exec ${FLASHCORE_PROBE_WRAPPER:-}";
    for (const auto& word : request.wrapper) s << " " << shell_quote(word);
    s << " " << shell_quote(executable);
    for (const auto& arg : probe_arguments(request)) s << " " << shell_quote(arg);
    s << " \"$@\"\n";
    return s.str();
}

}  // namespace flashcore
