// Bisect: the search logic behind `flashcore bisect` (compare lives in compare.hpp).
//
// Both run every variant through a ProbeRunner (in the CLI a ProcessProbeRunner: each probe is
// a child process with a time limit), so a kernel that faults or hangs never touches the
// caller's CUDA context; this code itself never initialises CUDA. Tests pass a fake runner.
//
// Bisect walks the parameter differences between a good and a bad variant of one template:
// every single-field change first (the good variant with that one field set to the bad one's
// value), then — only if all of those pass or are invalid — every pair, and so on up to
// BisectOptions::max_exhaustive_size; past that (or when a level would not fit in the probe
// budget) a delta-debugging reduction (ddmin) from the full difference down to a 1-minimal
// failing change. All failing changes of the smallest failing size are reported, in schema
// order. A `mismatch` culprit of a template with a `stage` param is localised by probing it
// with stage=qk, then stage=softmax.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "flashcore/template_registry.hpp"
#include "flashcore/tools/probe.hpp"
#include "flashcore/variant.hpp"

namespace flashcore {

// Why a probe was run.
enum class BisectPhase {
    confirm_good,  // the good variant must be ok
    confirm_bad,   // the bad variant must not be ok
    search,        // exhaustive level: every change of one size
    reduce,        // delta debugging past the exhaustive levels
    localise,      // a debug stage (stage=qk / stage=softmax) of a mismatch culprit
};
const char* to_string(BisectPhase phase);

struct BisectStep {
    std::size_t index = 0;  // 0-based, in the order taken
    BisectPhase phase = BisectPhase::search;
    std::string variant;              // canonical (or as built, when invalid)
    std::vector<std::string> fields;  // the fields set to the bad variant's values (schema order)
    std::vector<std::string> changes;  // "name: good -> bad", one per field
    bool probed = false;               // false: invalid in the schema (never launched) or reused
    bool reused = false;               // the result of an earlier probe of the same variant
    ProbeResult result;                // verdict invalid (and the schema's message) when not probed
};

struct StageLocalisation {
    bool attempted = false;
    // "QKᵀ", "softmax", "P·V (or the final normalisation)", or "" when inconclusive.
    std::string first_wrong;
    std::string detail;                 // what the debug-stage probes said
    std::vector<std::size_t> steps;     // indices into BisectReport::steps
};

struct Culprit {
    std::vector<std::string> fields;   // schema order
    std::vector<std::string> changes;  // "name: good -> bad"
    std::string variant;               // the good variant with those fields changed
    ProbeResult result;                // its (failing) probe
    std::size_t step = 0;              // index into BisectReport::steps
    // true: every smaller change was tried and passes or is invalid (found by the exhaustive
    // levels). false with `minimal`: reduced by delta debugging — leaving out any one of its
    // fields makes it pass, but a smaller change of other fields may exist.
    bool smallest = true;
    bool minimal = true;               // false when the probe budget ran out before it was reduced
    StageLocalisation stage;           // only for mismatch culprits of templates with a `stage` param
};

enum class BisectStatus {
    found,             // culprits are minimal: every smaller change passes or is invalid
    budget_exhausted,  // the budget ran out; culprits hold the smallest failing change known
    good_not_ok,       // the good variant does not pass
    bad_is_ok,         // the bad variant passes (nothing to bisect)
    bad_is_invalid,    // the probe of the bad variant says it is invalid
    identical,         // good and bad are the same variant
};
const char* to_string(BisectStatus status);

struct BisectOptions {
    // Probes launched in all, confirmation and stage localisation included (>= 2). Invalid
    // combinations are skipped without a probe and do not count.
    std::size_t max_probes = 64;
    // Exhaustive levels: change sizes tried in full (1 = single fields, 2 = pairs...). Larger
    // changes are found by delta debugging. A level that would not fit in the remaining
    // budget is not started.
    std::size_t max_exhaustive_size = 2;
    // Probe mismatch culprits with stage=qk / stage=softmax when the schema has `stage`.
    bool localise_stage = true;
    // Called before each probe is launched (for progress lines); may be empty.
    std::function<void(const BisectStep&)> on_probe_start;
};

struct BisectReport {
    BisectStatus status = BisectStatus::identical;
    std::string good;  // canonical
    std::string bad;   // canonical
    std::vector<std::string> differences;  // "name: good -> bad", schema order
    std::vector<BisectStep> steps;
    std::vector<Culprit> culprits;  // ties: every failing change of the smallest size
    std::size_t probes = 0;         // probes launched
    std::size_t skipped_invalid = 0;
    std::size_t max_probes = 0;
    std::string summary;  // several lines, for people

    bool ok() const { return status == BisectStatus::found; }
};

// Bisects between `good` and `bad` (same template; throws Error(bad_input) otherwise).
// `base` supplies the problem, seed, extra args, env, timeout and wrapper of every probe;
// its `variant` is replaced. `on_step` (may be empty) is called after each step, probed or
// skipped. Never throws for what a probe does.
BisectReport bisect(const Variant& good, const Variant& bad, const TemplateRegistry& registry, ProbeRunner& runner,
                    const ProbeRequest& base, const BisectOptions& options = {},
                    const std::function<void(const BisectStep&)>& on_step = {});

// `base` with fields `names` (in any order) set to `to`'s values; throws Error(bad_input) when
// the combination is invalid. Bound fields keep the values they have in `base`.
Variant with_fields_of(const Variant& base, const Variant& to, const std::vector<std::string>& names);

// JSON text for machines (the codecs of tools/json_codec.hpp): one step (a line of
// verdicts.jsonl), one probe result, a whole report.
std::string to_json(const ProbeResult& result);
std::string to_json(const BisectStep& step);
std::string to_json(const BisectReport& report);

}  // namespace flashcore
