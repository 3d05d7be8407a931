#include "flashcore/cache_key.hpp"

#include "flashcore/hash.hpp"

namespace flashcore {

std::string KeyComponents::key() const {
    Hasher128 h;
    for (const auto& [name, value] : fields()) h.add(name).add(value);
    return h.hex();
}

const std::vector<KeyComponents::TextField>& KeyComponents::text_fields() {
    static const std::vector<TextField> kFields = {
        {"template", &KeyComponents::template_id}, {"content", &KeyComponents::content_digest},
        {"variant", &KeyComponents::variant},      {"options", &KeyComponents::options},
        {"arch", &KeyComponents::arch},            {"nvrtc", &KeyComponents::nvrtc_version}};
    return kFields;
}

std::vector<std::pair<std::string, std::string>> KeyComponents::fields() const {
    std::vector<std::pair<std::string, std::string>> out = {{"key_schema", std::to_string(key_schema)}};
    for (const auto& field : text_fields()) out.emplace_back(field.name, this->*field.member);
    return out;
}

std::string content_digest(const Source& source, const Toolkit& toolkit) {
    Hasher128 h;
    // The rendered prelude is a function of the canonical variant (its own key field) and the
    // schema, so hashing the raw template and schema keeps "variant" and "content" apart.
    h.add("template").add(source.file_name).add(source.template_text).add("schema").add(source.schema_text);
    for (const auto& header : source.headers) h.add("header").add(header.path).add(header.content);
    for (const auto& name : source.system_headers) h.add("toolkit").add(name).add(toolkit.header_digest(name));
    return h.hex();
}

KeyComponents key_components(const Variant& variant, const CompileOptions& options, const Target& target,
                             const Source& source, const Toolkit& toolkit) {
    KeyComponents c;
    c.template_id = variant.template_id();
    c.content_digest = content_digest(source, toolkit);
    c.variant = variant.to_string();
    c.options = options.canonical();
    c.arch = target.to_string();
    c.nvrtc_version = toolkit.nvrtc_version();
    return c;
}

}  // namespace flashcore
