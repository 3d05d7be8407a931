#include "flashcore/tools/bisect.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <sstream>

#include "core/enum_names.hpp"
#include "core/text.hpp"
#include "flashcore/error.hpp"
#include "tools/json_codec.hpp"

namespace flashcore {

namespace {
using P = BisectPhase;
using S = BisectStatus;
const detail::EnumName<BisectPhase> kPhases[] = {{P::confirm_good, "confirm_good"}, {P::confirm_bad, "confirm_bad"},
                                                 {P::search, "search"}, {P::reduce, "reduce"}, {P::localise, "localise"}};
const detail::EnumName<BisectStatus> kStatuses[] = {
    {S::found, "found"}, {S::budget_exhausted, "budget_exhausted"}, {S::good_not_ok, "good_not_ok"},
    {S::bad_is_ok, "bad_is_ok"}, {S::bad_is_invalid, "bad_is_invalid"}, {S::identical, "identical"}};
}  // namespace

const char* to_string(BisectPhase phase) { return detail::name_of(phase, kPhases); }
const char* to_string(BisectStatus status) { return detail::name_of(status, kStatuses); }

namespace {

// `base` with `overrides` applied (every other field as in `base`, bound ones included);
// nullopt and why when the combination is invalid.
std::optional<Variant> try_with_values(const Variant& base, const std::map<std::string, Value>& overrides,
                                       std::string* why) {
    VariantRequest request{base.template_id(), {}};
    const auto& params = base.schema().params;
    for (size_t i = 0; i < params.size(); ++i) {
        auto it = overrides.find(params[i].name);
        request.set(params[i].name, it != overrides.end() ? it->second : base.values()[i]);
    }
    for (const auto& [name, value] : overrides)
        if (!base.schema().find_param(name)) {
            if (why) *why = "template '" + base.template_id() + "' has no field '" + name + "'";
            return std::nullopt;
        }
    return Variant::try_resolve(request, base.schema_ptr(), nullptr, why);
}

std::map<std::string, Value> values_of(const Variant& to, const std::vector<std::string>& names) {
    std::map<std::string, Value> out;
    for (const auto& name : names) out[name] = to.value(name);
    return out;
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

using detail::join;

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
        std::string invalid_message;
        std::optional<Variant> variant = try_with_values(good_, values_of(bad_, names), &invalid_message);
        if (!variant) {
            BisectStep step;
            step.phase = phase;
            std::vector<Value> values = good_.values();
            for (size_t d : subset) values[diff_[d]] = bad_.values()[diff_[d]];
            step.variant = canonical_text(good_.schema(), values);
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
            std::optional<Variant> v = try_with_values(good_, values_of(bad_, names_of(subset)), nullptr);
            if (v && !by_variant_.count(v->to_string())) ++needed;
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
        // Tries each candidate until one fails; on a failure keeps it with the new granularity.
        bool reduced = false;
        auto try_each = [&](const std::vector<std::vector<size_t>>& candidates, std::size_t next_granularity) {
            for (const auto& candidate : candidates) {
                auto step = try_subset(BisectPhase::reduce, candidate);
                if (!step) return void(budget_spent = true);
                if (!step_fails(*step)) continue;
                c = candidate;
                c_step = *step;
                granularity = next_granularity;
                return void(reduced = true);
            }
        };
        try_each(chunks, 2);
        if (!reduced && !budget_spent && granularity > 2) {
            std::vector<std::vector<size_t>> complements;
            for (const auto& chunk : chunks) {
                complements.emplace_back();
                std::set_difference(c.begin(), c.end(), chunk.begin(), chunk.end(), std::back_inserter(complements.back()));
            }
            try_each(complements, std::max<std::size_t>(granularity - 1, 2));
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
        std::string why;
        std::optional<Variant> debug = try_with_values(variant, {{"stage", Value{std::string(stage)}}}, &why);
        if (!debug) {
            loc.detail += std::string(loc.detail.empty() ? "" : "; ") + "stage=" + stage + " is invalid here (" + why + ")";
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
    std::string why;
    if (auto v = try_with_values(base, values_of(to, names), &why)) return std::move(*v);
    fail(Stage::validate, ErrorCode::bad_input, why);
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

std::string to_json(const ProbeResult& result) { return nlohmann::json(result).dump(); }
std::string to_json(const BisectStep& step) { return nlohmann::json(step).dump(); }
std::string to_json(const BisectReport& report) { return nlohmann::json(report).dump(); }

}  // namespace flashcore
