#include "core/entry_codec.hpp"

#include <nlohmann/json.hpp>

#include "core/json_codec.hpp"
#include "core/text.hpp"
#include "flashcore/disk_cache.hpp"
#include "flashcore/hash.hpp"

namespace flashcore::detail {

using json = nlohmann::json;

std::string entry_manifest(const CacheEntry& entry) { return entry_to_json(entry, xxh3_64(entry.compiled.cubin)); }

DecodedEntry decode_entry(const std::string& text, const std::optional<std::string>& cubin,
                          const std::string& expected_key) {
    DecodedEntry out;
    EntryManifest manifest;
    try {
        manifest = json::parse(text).get<EntryManifest>();
    } catch (const std::exception& e) {
        out.damage = "entry.json unreadable: " + printable(e.what());
        return out;
    }
    CacheEntry& entry = manifest.entry;
    if (manifest.format != kDiskLayoutVersion || entry.key != expected_key) {
        out.damage = "foreign entry: written by another format or for another key";
        return out;
    }
    if (entry.components.key_schema != kKeySchemaVersion || entry.components.key() != expected_key) {
        out.damage = "foreign entry: its key fields do not hash to " + expected_key;
        return out;
    }
    if (!cubin) {
        out.damage = "kernel.cubin missing";
        return out;
    }
    if (cubin->size() != manifest.cubin_bytes) {
        out.damage = "kernel.cubin truncated: " + std::to_string(cubin->size()) + " of " +
                     std::to_string(manifest.cubin_bytes) + " bytes";
        return out;
    }
    if (hex64(xxh3_64(*cubin)) != manifest.cubin_xxh3_64) {
        out.damage = "kernel.cubin checksum mismatch";
        return out;
    }
    entry.compiled.cubin = *cubin;
    out.entry = std::move(entry);
    return out;
}

std::optional<KeyComponents> manifest_components(const std::string& text) {
    try {
        return json::parse(text).at("components").get<KeyComponents>();
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

std::string encode_record(const CacheEntry& entry) {
    std::string manifest = entry_manifest(entry);
    return std::to_string(manifest.size()) + " " + std::to_string(entry.compiled.cubin.size()) + "\n" + manifest +
           entry.compiled.cubin;
}

std::optional<Record> decode_record(const std::string& bytes, size_t& pos) {
    size_t eol = bytes.find('\n', pos);
    if (eol == std::string::npos || eol - pos > 40) return std::nullopt;
    std::string head = bytes.substr(pos, eol - pos);
    size_t space = head.find(' ');
    if (space == std::string::npos) return std::nullopt;
    auto number = [](const std::string& digits) -> std::optional<std::uint64_t> {
        if (digits.empty() || digits.size() > 15) return std::nullopt;
        std::uint64_t v = 0;
        for (char c : digits) {
            if (c < '0' || c > '9') return std::nullopt;
            v = v * 10 + static_cast<unsigned>(c - '0');
        }
        return v;
    };
    auto manifest_bytes = number(head.substr(0, space)), cubin_bytes = number(head.substr(space + 1));
    if (!manifest_bytes || !cubin_bytes) return std::nullopt;
    size_t start = eol + 1;
    if (bytes.size() - start < *manifest_bytes || bytes.size() - start - *manifest_bytes < *cubin_bytes)
        return std::nullopt;
    Record r{bytes.substr(start, *manifest_bytes), bytes.substr(start + *manifest_bytes, *cubin_bytes)};
    pos = start + *manifest_bytes + *cubin_bytes;
    return r;
}

}  // namespace flashcore::detail
