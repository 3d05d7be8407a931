// Where template files come from: directories given by the user (FLASHCORE_TEMPLATE_DIR /
// --template-dir), searched first, then the copy embedded in the library at build time.
// Thread-safe; schemas are parsed on first use and kept.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "flashcore/schema.hpp"

namespace flashcore {

struct TemplateFile {
    std::string path;     // relative to the template root, e.g. "common/numeric.cuh"
    std::string content;
    std::string origin;   // "embedded" or the directory it was read from
};

class TemplateRegistry {
public:
    explicit TemplateRegistry(std::vector<std::string> overlay_dirs = {});

    // Ids of every template that has a schema (sorted).
    std::vector<std::string> template_ids() const;
    // Throws Error(bad_input) listing the known ids when `id` is unknown.
    std::shared_ptr<const TemplateSchema> schema(const std::string& id) const;
    // The schema, or null when no template has that id (a malformed schema still throws).
    std::shared_ptr<const TemplateSchema> find(const std::string& id) const;
    // A file by path relative to the template root; nullopt if no source has it.
    std::optional<TemplateFile> read(const std::string& relative_path) const;
    const std::vector<std::string>& overlay_dirs() const { return dirs_; }

private:
    std::vector<std::string> dirs_;
    mutable std::mutex mutex_;
    mutable std::map<std::string, std::shared_ptr<const TemplateSchema>> schemas_;
};

// Files compiled into the library (generated at build time from kernel_templates/).
struct EmbeddedFile {
    const char* path;
    const char* data;
    unsigned long size;
};
const std::vector<EmbeddedFile>& embedded_template_files();

}  // namespace flashcore
