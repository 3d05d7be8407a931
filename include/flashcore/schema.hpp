// A template's schema: its parameters, constraints, derived constants and launch contract.
// Loaded from `<id>.schema.json` (format in docs/templates.md); immutable afterwards.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "flashcore/expression.hpp"

namespace flashcore {

enum class ParamType { integer, enumeration };

struct ParamSpec {
    std::string name;
    ParamType type = ParamType::integer;
    std::vector<Value> values;  // every allowed value, in schema order
    Value default_value;
    std::string bind;  // problem field that supplies the value when the user omits it ("" = none)
    bool hidden = false;
    std::string doc;

    // Index of `value` in `values`, or nullopt.
    std::optional<size_t> index_of(const Value& value) const;
    // Parses the text form of a value of this parameter (int or enum label); nullopt if malformed.
    std::optional<Value> parse_value(const std::string& text) const;
    std::string allowed_text() const;  // "{32, 48, 64}" for messages
};

struct NamedExpression {
    std::string name;
    Expression expr;
};

struct Check {
    Expression expr;
    std::string message;  // may hold {name} placeholders
};

struct LaunchContract {
    Expression block;
    std::vector<Expression> grid;  // one to three dimensions
    Expression dynamic_smem;
    Expression workspace_bytes;
    Expression workspace_zero_bytes;
    Expression programmatic;  // nonzero: launch with programmatic stream serialization (PDL)
};

struct TemplateSchema {
    std::string id;
    std::string summary;
    std::string kernel;     // C++ name of the __global__ function
    std::string signature;  // "attention"
    std::string arch_suffix;
    int min_sm = 70;
    std::vector<ParamSpec> params;
    std::vector<NamedExpression> derived;
    std::vector<Check> constraints;
    std::vector<Check> problem_checks;
    LaunchContract launch;

    const ParamSpec* find_param(const std::string& name) const;
    std::optional<size_t> param_index(const std::string& name) const;

    // Parses and checks a schema document: every expression parses and names only known
    // params/derived/problem fields. Throws Error(bad_input) naming `origin` on any fault.
    static TemplateSchema from_json(const std::string& text, const std::string& origin);
};

// Names a schema expression may read from a problem (`problem.<field>`).
const std::vector<std::string>& problem_field_names();

}  // namespace flashcore
