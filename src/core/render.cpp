#include "flashcore/render.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <regex>
#include <set>

#include "flashcore/error.hpp"

namespace flashcore {

namespace {

std::string macro_name(const std::string& name) {
    std::string out = "FC_";
    for (char c : name) out += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::toupper(c)) : '_';
    return out;
}

std::string string_literal(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

struct Include {
    std::string name;
    bool quoted;
};

// Every #include line, whatever preprocessor branch it sits in: the key must cover a header
// even when only some variants include it.
std::vector<Include> scan_includes(const std::string& text) {
    static const std::regex kInclude(R"(^[ \t]*#[ \t]*include[ \t]*([<"])([^>"]+)[>"])");
    std::vector<Include> out;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t end = text.find('\n', pos);
        std::string line = text.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
        std::smatch m;
        if (line.find("include") != std::string::npos && std::regex_search(line, m, kInclude))
            out.push_back({m[2].str(), m[1].str() == "\""});
        if (end == std::string::npos) break;
        pos = end + 1;
    }
    return out;
}

}  // namespace

std::string render_prelude(const Variant& variant) {
    const TemplateSchema& schema = variant.schema();
    std::string out = "// flashcore generated prelude: " + variant.to_string() + "\n";
    out += "#define FC_VARIANT " + string_literal(variant.to_string()) + "\n";
    for (size_t i = 0; i < schema.params.size(); ++i) {
        const ParamSpec& spec = schema.params[i];
        const Value& value = variant.values()[i];
        std::string macro = macro_name(spec.name);
        if (spec.type == ParamType::integer) {
            out += "#define " + macro + " " + to_string(value) + "\n";
            continue;
        }
        for (size_t k = 0; k < spec.values.size(); ++k)
            out += "#define " + macro + "_" + macro_name(to_string(spec.values[k])).substr(3) + " " + std::to_string(k) + "\n";
        out += "#define " + macro + " " + macro + "_" + macro_name(to_string(value)).substr(3) + "\n";
    }
    for (const auto& [name, value] : variant.derived())
        out += "#define " + macro_name(name) + " " + std::to_string(value) + "\n";
    return out;
}

Source render(const Variant& variant, const TemplateRegistry& registry) {
    const std::string& id = variant.template_id();
    Source source;
    source.file_name = id + ".cu";
    auto main_file = registry.read(source.file_name);
    if (!main_file)
        fail(Stage::render, ErrorCode::bad_input, "template source " + source.file_name + " not found", variant.to_string());
    source.text = render_prelude(variant) + "#line 1 \"" + source.file_name + "\"\n" + main_file->content;
    source.template_text = main_file->content;
    if (auto schema_file = registry.read(id + ".schema.json")) source.schema_text = schema_file->content;
    source.name_expression = "&" + variant.schema().kernel;

    std::map<std::string, TemplateFile> headers;
    std::set<std::string> system;
    std::vector<std::string> pending;  // quoted includes still to resolve
    for (const auto& inc : scan_includes(main_file->content)) {
        if (inc.quoted) pending.push_back(inc.name);
        else system.insert(inc.name);
    }
    while (!pending.empty()) {
        std::string name = pending.back();
        pending.pop_back();
        if (headers.count(name)) continue;
        auto file = registry.read(name);
        if (!file) {
            // A quoted include we do not have may still be a toolkit header ("cuda_fp16.h").
            system.insert(name);
            continue;
        }
        for (const auto& inc : scan_includes(file->content)) {
            if (inc.quoted) pending.push_back(inc.name);
            else system.insert(inc.name);
        }
        headers.emplace(name, std::move(*file));
    }
    for (auto& [name, file] : headers) source.headers.push_back(std::move(file));
    source.system_headers.assign(system.begin(), system.end());
    return source;
}

}  // namespace flashcore
