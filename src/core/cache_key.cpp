#include "flashcore/cache_key.hpp"

#include "flashcore/hash.hpp"

namespace flashcore {

std::string KeyComponents::key() const {
    Hasher128 h;
    for (const auto& [name, value] : fields()) h.add(name).add(value);
    return h.hex();
}

std::vector<std::pair<std::string, std::string>> KeyComponents::fields() const {
    return {{"key_schema", std::to_string(key_schema)},
            {"template", template_id},
            {"content", content_digest},
            {"variant", variant},
            {"options", options},
            {"arch", arch},
            {"nvrtc", nvrtc_version}};
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
