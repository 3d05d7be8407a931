#include "flashcore/selection.hpp"

#include "flashcore/driver.hpp"
#include "flashcore/error.hpp"
#include "flashcore/launch.hpp"
#include "flashcore/runtime.hpp"
#include "flashcore/tuning.hpp"
#include "logging.hpp"

namespace flashcore {

namespace {

// Templates `auto` may choose from, in order of preference.
const char* const kAutoTemplates[] = {"attention_mma"};

// The variant if it is valid for the problem and fits the device, else nullopt.
std::optional<std::string> usable(Runtime& runtime, const std::string& text, const AttentionProblem& problem,
                                  const DeviceInfo& device) {
    try {
        NameLookup names = problem_names(problem, &device);
        Variant v = parse_variant(text, runtime.templates(), names);
        if (v.schema().min_sm > device.sm) return std::nullopt;
        NameLookup all = v.names(names);
        for (const auto& check : v.schema().problem_checks)
            if (!check.expr.evaluate_int(all)) return std::nullopt;
        if (derive_launch(v, names).dynamic_smem > static_cast<std::size_t>(device.smem_per_block_optin)) return std::nullopt;
        return v.to_string();
    } catch (const Error&) {
        return std::nullopt;
    }
}

}  // namespace

Selection select_variant(Runtime& runtime, const AttentionProblem& problem, const DeviceInfo& device) {
    problem.validate();
    Target target;
    target.sm = device.sm;
    TuneStore store(runtime.config().cache_dir);
    for (const char* id : kAutoTemplates) {
        try {
            TuneKey key = tune_key(runtime, id, problem, target);
            if (auto best = store.best(key))
                if (auto v = usable(runtime, best->variant, problem, device))
                    return {*v, "tuned", key.file_path(store.root())};
        } catch (const Error& e) {
            // The template cannot take this problem at all (e.g. an unsupported head dim).
            detail::log().debug("auto: {} not applicable: {}", id, e.what());
        }
    }
    for (const auto& text : heuristic_variants(problem, device))
        if (auto v = usable(runtime, text, problem, device)) return {*v, "heuristic", "heuristic.cpp rule for " + problem_bucket(problem)};
    std::string ref = "reference_attention:dtype=" + std::string(to_string(problem.dtype));
    detail::log().warn("auto: no fast variant takes {}; using {} (correct but slow)", problem.to_string(), ref);
    return {ref, "fallback", "no tuned or heuristic variant takes this problem"};
}

}  // namespace flashcore
