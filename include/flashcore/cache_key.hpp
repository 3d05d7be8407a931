// The cache key: XXH3-128 over everything that decides the bytes of a cubin. Changing what
// goes in, or how, must bump kKeySchemaVersion (a golden-key test enforces it).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "flashcore/render.hpp"
#include "flashcore/toolkit.hpp"

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
};

// Digest of the template and schema text, every project header (path + content) and every
// toolkit header it names (path + content as found on the include path).
std::string content_digest(const Source& source, const Toolkit& toolkit);

}  // namespace flashcore
