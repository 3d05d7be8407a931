#include "flashcore/selection/auto.hpp"

#include <algorithm>
#include <optional>

#include "core/logging.hpp"
#include "flashcore/can_implement.hpp"
#include "flashcore/problem_names.hpp"
#include "flashcore/selection/tune_store.hpp"

namespace flashcore {

namespace {

const std::string kAuto = "auto";

// Stateless: one chooser serves every runtime and thread.
AutoChooser& shared_auto_chooser() {
    static AutoChooser chooser;
    return chooser;
}

// The variant if it parses for the problem and can_implement accepts it on the device.
std::optional<Variant> usable(const std::optional<Variant>& v, const AttentionProblem& problem, const DeviceInfo& device,
                              const AttentionTensors* tensors, const std::string& label) {
    if (!v) return std::nullopt;
    Fit fit = can_implement(*v, FitQuery{&problem, &device, 0, tensors});
    if (fit) return v;
    detail::log().debug("auto: {} {} does not fit: {}", label, v->to_string(), fit.message);
    return std::nullopt;
}

}  // namespace

Selection select_variant(Runtime& runtime, const AttentionProblem& problem, const DeviceInfo& device,
                         const AttentionTensors* tensors, const std::vector<AutoFamily>& families) {
    problem.validate();
    Target target;
    target.sm = device.sm;
    const NameLookup names = problem_names(problem, &device);

    // Tuning records compete on time across families.
    TuneStore store(runtime.config().cache_dir);
    std::optional<Selection> tuned;
    double tuned_us = 0;
    for (const AutoFamily& family : families) {
        std::string why;
        std::optional<TuneKey> key = try_tune_key(runtime, family.template_id, problem, target, &why);
        if (!key) {
            detail::log().debug("auto: {} not applicable: {}", family.template_id, why);
            continue;
        }
        std::optional<TuneRecord> best = store.best(*key);
        if (!best || (tuned && best->us_median >= tuned_us)) continue;
        if (auto v = usable(try_parse_variant(best->variant, runtime.templates(), names, &why), problem, device,
                            tensors, "tuned record")) {
            tuned = Selection{v->to_string(), "tuned", key->file_path(store.root())};
            tuned_us = best->us_median;
        }
    }
    if (tuned) return *tuned;

    std::vector<const AutoFamily*> ranked;
    for (const AutoFamily& family : families) ranked.push_back(&family);
    std::stable_sort(ranked.begin(), ranked.end(), [](const AutoFamily* a, const AutoFamily* b) { return a->rank > b->rank; });
    for (const AutoFamily* family : ranked) {
        if (!family->heuristic) continue;
        auto schema = runtime.templates().find(family->template_id);
        if (!schema) continue;  // not in this build or template folder
        for (const VariantRequest& request : family->heuristic(problem, device))
            if (auto v = usable(Variant::try_resolve(request, schema, names), problem, device, tensors, "heuristic"))
                return {v->to_string(), "heuristic",
                        family->template_id + " heuristic rule for " + problem_bucket(problem)};
    }
    VariantRequest reference{kFallbackTemplate, {}};
    reference.set("dtype", std::string(to_string(problem.dtype)));
    Variant v = Variant::resolve(reference, runtime.templates().schema(kFallbackTemplate), names);
    detail::log().warn("auto: no fast variant takes {}; using {} (correct but slow)", problem.to_string(), v.to_string());
    return {v.to_string(), "fallback", "no tuned or heuristic variant takes this problem"};
}

AutoChooser::AutoChooser(std::vector<AutoFamily> families) : families_(std::move(families)) {}

const std::string& AutoChooser::request() const { return kAuto; }

Selection AutoChooser::choose(Runtime& runtime, const AttentionProblem& problem, int ordinal,
                              const AttentionTensors* tensors) {
    return select_variant(runtime, problem, runtime.device(ordinal).info(), tensors, families_);
}

void attention(Runtime& runtime, const AttentionProblem& problem, const AttentionBuffers& buffers, CUstream stream,
               const std::string& variant, int ordinal) {
    if (variant != kAuto) return runtime.attention(problem, buffers, stream, variant, ordinal);
    runtime.attention(problem, buffers, stream, shared_auto_chooser(), ordinal);
}

void attention(Runtime& runtime, const AttentionProblem& problem, const AttentionTensors& tensors, CUstream stream,
               const std::string& variant, int ordinal, const Workspace* workspace) {
    if (variant != kAuto) return runtime.attention(problem, tensors, stream, variant, ordinal, workspace);
    runtime.attention(problem, tensors, stream, shared_auto_chooser(), ordinal, workspace);
}

const Runtime::AttentionPlan& prepare(Runtime& runtime, const AttentionProblem& problem,
                                      const AttentionTensors& tensors, const std::string& variant, int ordinal) {
    if (variant != kAuto) return runtime.prepare(problem, tensors, variant, ordinal);
    return runtime.prepare(problem, tensors, shared_auto_chooser(), ordinal);
}

Selection resolve(Runtime& runtime, const AttentionProblem& problem, const std::string& variant, int ordinal,
                  const AttentionTensors* tensors) {
    if (variant == kAuto) return select_variant(runtime, problem, runtime.device(ordinal).info(), tensors);
    return {runtime.variant(variant, &problem).to_string(), "explicit", "given by the caller"};
}

}  // namespace flashcore
