// Internal: the one JSON spelling of the selection layer's types (see core/json_codec.hpp).
#pragma once

#include <nlohmann/json.hpp>

#include "flashcore/selection/tune_store.hpp"
#include "flashcore/selection/verdict.hpp"

namespace flashcore {

// "ok" | "compile_error" | ...; reading an unknown name throws Error(bad_input).
void to_json(nlohmann::json& j, Verdict verdict);
void from_json(const nlohmann::json& j, Verdict& verdict);

// A record line holds its key's fields: template, template_digest, bucket, dtype, mask, arch, nvrtc.
void to_json(nlohmann::json& j, const TuneKey& key);
void from_json(const nlohmann::json& j, TuneKey& key);

// variant, verdict, us_median, us_min, us_max, spread (written, derived), max_abs_err, problem,
// message, device, measured_unix_ms. Reading: us_min/us_max default to us_median.
void to_json(nlohmann::json& j, const TuneRecord& record);
void from_json(const nlohmann::json& j, TuneRecord& record);

}  // namespace flashcore
