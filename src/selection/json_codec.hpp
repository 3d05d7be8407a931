// Internal: the one JSON spelling of the selection layer's types (see core/json_codec.hpp).
#pragma once

#include "core/json_codec.hpp"
#include "flashcore/selection/tune_store.hpp"
#include "flashcore/selection/verdict.hpp"

namespace flashcore {

// "ok" | "compile_error" | ...; reading an unknown name throws Error(bad_input).
FLASHCORE_JSON_CODEC(Verdict);

// A record line holds its key's fields: template, template_digest, bucket, dtype, mask, arch, nvrtc.
FLASHCORE_JSON_CODEC(TuneKey);

// variant, verdict, us_median, us_min, us_max, spread (written, derived), max_abs_err, problem,
// message, device, measured_unix_ms. Reading: us_min/us_max default to us_median.
FLASHCORE_JSON_CODEC(TuneRecord);

}  // namespace flashcore
