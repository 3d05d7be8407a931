// Internal: the one JSON spelling of the tools layer's documents (see core/json_codec.hpp):
// probe requests and verdicts, bench rows, bisect steps and reports, device lists.
#pragma once

#include <string>
#include <vector>

#include "core/json_codec.hpp"
#include "flashcore/tools/bench.hpp"
#include "flashcore/tools/bisect.hpp"
#include "flashcore/tools/device_query.hpp"
#include "flashcore/tools/probe.hpp"
#include "selection/json_codec.hpp"

namespace flashcore {

// The request document: {"variants": [variant], "problem", "seed", "verify", "time", "dump",
// "compile", "device"}. The parent-side fields (wrapper, env, timeout) are not part of it.
// Reading takes the first of "variants" as `variant` (probe_variants() gives them all).
FLASHCORE_JSON_CODEC(ProbeRequest);
std::vector<std::string> probe_variants(const nlohmann::json& document);

// A verdict line: "verdict" and "variant" always, every other field only when it holds a value
// (numbers >= 0, strings non-empty). Reading assigns only the fields present.
FLASHCORE_JSON_CODEC(ProbeResult);

// A row in ../shared/bench/sdpa_anchor.py's schema: the problem's fields with torch's dtype name,
// plus impl, us_graph, us_eager, tflops and gbps (derived), max_abs_err (null when not checked), device,
// variant, selection, reference.
FLASHCORE_JSON_CODEC(BenchRow);

// A step is its probe's verdict fields plus step, phase, variant, fields, changes, probed, reused.
void to_json(nlohmann::json& j, const BisectStep& step);
void to_json(nlohmann::json& j, const Culprit& culprit);
void to_json(nlohmann::json& j, const BisectReport& report);

// `flashcore devices --json`: devices, nvrtc, cuda_include, and driver_version or reason.
FLASHCORE_JSON_CODEC(DevicesReport);

}  // namespace flashcore
