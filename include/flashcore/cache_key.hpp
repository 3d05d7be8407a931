// The cache key: XXH3-128 over everything that decides the bytes of a cubin. Changing what
// goes in, or how, must bump kKeySchemaVersion (a golden-key test enforces it).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <cstdint>

#include "flashcore/compile.hpp"
#include "flashcore/render.hpp"
#include "flashcore/toolkit.hpp"
#include "flashcore/variant.hpp"

namespace flashcore {

inline constexpr int kKeySchemaVersion = 1;

struct KeyComponents {
    int key_schema = kKeySchemaVersion;
    std::string template_id;
    std::string content_digest;  // template + schema + every header it includes
    std::string variant;         // canonical variant string
    std::string options;         // CompileOptions::canonical()
    std::string arch;            // exact target, e.g. sm_90a
    std::string nvrtc_version;

    std::string key() const;  // 32 lowercase hex digits
    // (name, value) pairs in key order, for entry.json and miss explanations.
    std::vector<std::pair<std::string, std::string>> fields() const;

    // The text fields (all but key_schema) with their names, in key order: the one list that
    // fields(), the key and entry.json's codec are made from.
    struct TextField {
        const char* name;
        std::string KeyComponents::*member;
    };
    static const std::vector<TextField>& text_fields();
};

// Digest of the template and schema text, every project header (path + content) and every
// toolkit header it names (path + content as found on the include path).
std::string content_digest(const Source& source, const Toolkit& toolkit);

// The pipeline's key stage: the components of a rendered variant for one target.
KeyComponents key_components(const Variant& variant, const CompileOptions& options, const Target& target,
                             const Source& source, const Toolkit& toolkit);

// What a cache tier holds under a key: the compile result and where it came from.
struct CacheEntry {
    std::string key;
    KeyComponents components;
    Compiled compiled;
    std::int64_t created_unix_ms = 0;
};

}  // namespace flashcore
