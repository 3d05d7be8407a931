#include "flashcore/template_registry.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "flashcore/error.hpp"

namespace flashcore {

namespace fs = std::filesystem;

namespace {
const std::string kSchemaSuffix = ".schema.json";

bool is_safe_relative(const std::string& path) {
    if (path.empty() || path[0] == '/') return false;
    return path.find("..") == std::string::npos;
}
}  // namespace

TemplateRegistry::TemplateRegistry(std::vector<std::string> overlay_dirs) : dirs_(std::move(overlay_dirs)) {
    for (const auto& dir : dirs_) {
        std::error_code ec;
        if (!fs::is_directory(dir, ec))
            fail(Stage::validate, ErrorCode::bad_input,
                 "template directory '" + dir + "' does not exist or is not a directory (check --template-dir / "
                 "FLASHCORE_TEMPLATE_DIR)");
    }
}

std::optional<TemplateFile> TemplateRegistry::read(const std::string& relative_path) const {
    if (!is_safe_relative(relative_path)) return std::nullopt;
    for (const auto& dir : dirs_) {
        fs::path path = fs::path(dir) / relative_path;
        std::error_code ec;
        if (!fs::is_regular_file(path, ec)) continue;
        std::ifstream in(path, std::ios::binary);
        std::ostringstream text;
        text << in.rdbuf();
        if (!in.good() && !in.eof())
            fail(Stage::io, ErrorCode::bad_input, "cannot read template file " + path.string());
        return TemplateFile{relative_path, text.str(), dir};
    }
    for (const auto& file : embedded_template_files())
        if (relative_path == file.path) return TemplateFile{relative_path, std::string(file.data, file.size), "embedded"};
    return std::nullopt;
}

std::vector<std::string> TemplateRegistry::template_ids() const {
    std::set<std::string> ids;
    auto consider = [&](const std::string& name) {
        if (name.size() > kSchemaSuffix.size() && name.find('/') == std::string::npos &&
            name.compare(name.size() - kSchemaSuffix.size(), kSchemaSuffix.size(), kSchemaSuffix) == 0)
            ids.insert(name.substr(0, name.size() - kSchemaSuffix.size()));
    };
    for (const auto& dir : dirs_) {
        std::error_code ec;
        for (const auto& entry : fs::directory_iterator(dir, ec)) consider(entry.path().filename().string());
    }
    for (const auto& file : embedded_template_files()) consider(file.path);
    return {ids.begin(), ids.end()};
}

std::shared_ptr<const TemplateSchema> TemplateRegistry::schema(const std::string& id) const {
    if (auto found = find(id)) return found;
    std::string known;
    for (const auto& name : template_ids()) known += (known.empty() ? "" : ", ") + name;
    fail(Stage::validate, ErrorCode::bad_input,
         "unknown template '" + id + "'; known templates: " + (known.empty() ? "(none)" : known));
}

std::shared_ptr<const TemplateSchema> TemplateRegistry::find(const std::string& id) const {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        auto it = schemas_.find(id);
        if (it != schemas_.end()) return it->second;
    }
    auto file = read(id + kSchemaSuffix);
    if (!file || !read(id + ".cu")) return nullptr;
    std::string origin = (file->origin == "embedded" ? "embedded:" : file->origin + "/") + file->path;
    auto parsed = std::make_shared<const TemplateSchema>(TemplateSchema::from_json(file->content, origin));
    if (parsed->id != id)
        fail(Stage::validate, ErrorCode::bad_input,
             "template schema " + origin + " names itself '" + parsed->id + "'; it must be '" + id + "'");
    std::lock_guard<std::mutex> lock(mutex_);
    return schemas_.emplace(id, parsed).first->second;
}

}  // namespace flashcore
