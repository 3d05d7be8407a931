// Internal: one cache entry as bytes, the same for every tier that stores it outside the
// process (disk folder, export bundle, Redis value): entry.json (the manifest) + the cubin.
// Whatever comes back is checked before it is trusted: format, key, the key fields hashing
// to that key, cubin size and XXH3-64 checksum.
#pragma once

#include <optional>
#include <string>

#include "flashcore/cache_key.hpp"

namespace flashcore::detail {

// entry.json for `entry` (its cubin is stored beside it, not inside).
std::string entry_manifest(const CacheEntry& entry);

// The entry from a manifest and its cubin, or "" in `damage` naming what is wrong with it
// (printable text: a garbled manifest is never echoed raw).
struct DecodedEntry {
    std::optional<CacheEntry> entry;
    std::string damage;
};
DecodedEntry decode_entry(const std::string& manifest, const std::optional<std::string>& cubin,
                          const std::string& expected_key);
// The key components a manifest records, or nullopt when it is unreadable (miss explanations).
std::optional<KeyComponents> manifest_components(const std::string& manifest);

// One self-delimiting record: "<manifest bytes> <cubin bytes>\n" + manifest + cubin.
std::string encode_record(const CacheEntry& entry);
// Reads the record starting at `pos` (advanced past it); nullopt when the bytes are not one.
struct Record {
    std::string manifest;
    std::string cubin;
};
std::optional<Record> decode_record(const std::string& bytes, size_t& pos);

}  // namespace flashcore::detail
