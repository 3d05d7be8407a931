// Internal: the one JSON spelling of each core type (nlohmann ADL codecs: to_json/from_json in
// namespace flashcore, found by nlohmann::json's conversions). Every writer and reader of these
// documents goes through them: entry.json, probe requests, run/bench rows, `devices --json`.
// Not installed: nlohmann-json is a private dependency of the library.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

#include "flashcore/attention.hpp"
#include "flashcore/cache_key.hpp"
#include "flashcore/compile.hpp"
#include "flashcore/device_info.hpp"
#include "flashcore/disk_cache.hpp"
#include "flashcore/kernel_cache.hpp"
#include "flashcore/toolkit.hpp"

// Declares the pair nlohmann::json finds by argument-dependent lookup for T. Each codec below
// is defined once, in the .cpp of its header.
#define FLASHCORE_JSON_CODEC(T)                      \
    void to_json(nlohmann::json& j, const T& value); \
    void from_json(const nlohmann::json& j, T& value)

namespace flashcore {

// "f16" | "bf16" | "f32"; reading anything else throws Error(bad_input).
FLASHCORE_JSON_CODEC(DType);

// {"B","Hq","Hkv","Sq","Skv","D","causal","dtype"} plus "scale" (when not 0 = 1/sqrt(D)) and
// "with_lse" (when true): a default problem reads exactly like the rows printed before.
FLASHCORE_JSON_CODEC(AttentionProblem);

// Every field under its member name; missing fields keep their defaults.
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(CompileOptions, line_info, debug, fast_math, max_registers, defines,
                                                extra, allowed_warnings, promoted_patterns)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ResourceUsage, registers, spill_store_bytes, spill_load_bytes,
                                                static_shared_bytes, stack_bytes, barriers, parsed)

// The key fields under the names KeyComponents::fields() gives them (key_schema as a number).
FLASHCORE_JSON_CODEC(KeyComponents);

// entry.json: a cache entry without its cubin, plus the cubin's size and XXH3-64 (hex), so a
// reader can tell a truncated or damaged cubin from a good one.
struct EntryManifest {
    int format = kDiskLayoutVersion;
    CacheEntry entry;  // entry.compiled.cubin stays empty
    std::uint64_t cubin_bytes = 0;
    std::string cubin_xxh3_64;
};
FLASHCORE_JSON_CODEC(EntryManifest);

// {"nvrtc": "13.0", "headers": {name: digest}}: a toolkit's facts beside the cache entries.
FLASHCORE_JSON_CODEC(ToolkitFacts);
// Every counter under its member name (compile_ms a number of milliseconds); missing ones 0.
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(CacheCounters, memory_hits, disk_hits, prebuilt_hits, remote_hits,
                                                misses, compiles, compile_ms, remote_stores, remote_rejected,
                                                remote_errors, lock_waits, lock_timeouts)

// One GPU as `flashcore devices --json` lists it: ordinal, name, arch ("sm_90"), sms,
// smem_optin_bytes, l2_bytes, memory_bytes (driver_version is the document's, not the GPU's).
FLASHCORE_JSON_CODEC(DeviceInfo);

}  // namespace flashcore
