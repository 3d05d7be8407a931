// Stage 1: variant -> CUDA source. Parameters become #defines in a generated prelude
// (format in docs/templates.md); the project headers the template includes are resolved
// from the registry so the compiler and the cache key see exactly the same text.
#pragma once

#include <string>
#include <vector>

#include "flashcore/template_registry.hpp"
#include "flashcore/variant.hpp"

namespace flashcore {

struct Source {
    std::string file_name;                  // "<template>.cu", as the compiler reports it
    std::string text;                       // prelude + template text
    std::string template_text;              // the template file as read
    std::string schema_text;                // its schema file as read (the prelude derives from it)
    std::vector<TemplateFile> headers;      // project headers included (transitively), sorted by path
    std::vector<std::string> system_headers;  // toolkit headers named by #include <...>, sorted
    std::string name_expression;            // "&<kernel>", registered with NVRTC
};

// Throws Error(render) when the template file or one of its quoted includes is missing.
Source render(const Variant& variant, const TemplateRegistry& registry);

// The generated prelude alone (exposed for tests and `flashcore build --show-source`).
std::string render_prelude(const Variant& variant);

}  // namespace flashcore
