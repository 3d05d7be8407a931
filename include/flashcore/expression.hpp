// The small expression language of template schemas (constraints, derived values, launch
// contract). Integers (64-bit) and strings; see docs/templates.md for the grammar.
// Parsed once when a schema loads; evaluated many times. Immutable after parsing, so
// evaluation is thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace flashcore {

using Value = std::variant<std::int64_t, std::string>;

std::string to_string(const Value& value);

// Resolves a name to a value; returns nullopt for an unknown name.
using NameLookup = std::function<std::optional<Value>(const std::string& name)>;

namespace detail {
struct ExprNode;
}

class Expression {
public:
    // Throws Error(bad_input) naming the position on a syntax error.
    static Expression parse(const std::string& text);

    // Throws Error(bad_input) for unknown names, type mismatches, division by zero.
    Value evaluate(const NameLookup& lookup) const;
    std::int64_t evaluate_int(const NameLookup& lookup) const;

    // Every name the expression reads (for validating schemas up front).
    std::vector<std::string> names() const;
    const std::string& text() const { return text_; }

private:
    std::string text_;
    std::shared_ptr<const detail::ExprNode> root_;
};

// Replaces each {name} in `pattern` with the looked-up value (unknown names stay as is).
std::string substitute_names(const std::string& pattern, const NameLookup& lookup);

}  // namespace flashcore
