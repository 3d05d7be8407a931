// Internal: range-checked parsers for the numbers users type (environment variables and CLI
// flags). Each throws Error(validate, bad_input) whose message names the field, the text and
// the accepted range, so no `internal error: stoull` can come from input.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace flashcore::detail {

// The largest byte size accepted anywhere (1 EiB): far above any disk, far below overflow.
inline constexpr std::uint64_t kMaxByteSize = 1ull << 60;

// "4096", "512K", "200M", "2G", "1T" (K/M/G/T, also KB/KiB..., powers of 1024; "B" = bytes).
// `field` names the input in the message ("FLASHCORE_CACHE_MAX_BYTES", "--max-bytes").
std::uint64_t parse_byte_size(const std::string& text, const std::string& field);

// A duration: "500ms", "30s", "10m", "2h", "7d"; a bare number is `bare_unit` ("s", "d"...).
// Decimals are allowed ("1.5h"). Rejects negative, non-finite and values above `max`.
std::chrono::milliseconds parse_duration(const std::string& text, const std::string& field, const std::string& bare_unit,
                                         std::chrono::milliseconds max);

// A finite decimal number in [min, max] ("1e3" allowed; "nan", "inf", "1e400", "" are not).
double parse_number(const std::string& text, const std::string& field, double min, double max);
// An integer in [min, max] (decimal digits with an optional sign).
std::int64_t parse_integer(const std::string& text, const std::string& field, std::int64_t min, std::int64_t max);

}  // namespace flashcore::detail
