// A variant: one template plus a value for each of its parameters. Its canonical string
// (`template:field=value,...`, fields in schema order, defaults filled in) is its identity
// everywhere: cache key input, log field, CLI argument, directory label.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "flashcore/error.hpp"
#include "flashcore/expression.hpp"
#include "flashcore/schema.hpp"

namespace flashcore {

class TemplateRegistry;

// The text a user wrote, split but not yet checked against a schema; also how code builds a
// variant field by field (heuristics, bisect) without spelling its text.
struct VariantRequest {
    std::string template_id;
    std::vector<std::pair<std::string, std::string>> fields;  // as written, in order

    // Sets (or replaces) one field; returns *this for chaining.
    VariantRequest& set(const std::string& name, const Value& value);
};

// Splits `TEMPLATE[:name=value,...]`; throws Error(bad_input) on malformed text.
VariantRequest split_variant_text(const std::string& text);
// The same without throwing: nullopt (and why) on malformed text.
std::optional<VariantRequest> try_split_variant_text(const std::string& text, std::string* why = nullptr);

// The canonical text of a template's values (schema order; hidden params at their default left
// out). Variant::to_string() is this; bisect names invalid combinations with it. The only
// producer of the canonical form.
std::string canonical_text(const TemplateSchema& schema, const std::vector<Value>& values);

class Variant {
public:
    const std::string& template_id() const { return schema_->id; }
    const TemplateSchema& schema() const { return *schema_; }
    std::shared_ptr<const TemplateSchema> schema_ptr() const { return schema_; }

    const Value& value(const std::string& name) const;  // throws for an unknown name
    std::int64_t int_value(const std::string& name) const;
    const std::vector<Value>& values() const { return values_; }
    // Derived constants in schema order (evaluated once, at construction).
    const std::vector<std::pair<std::string, std::int64_t>>& derived() const { return derived_; }

    const std::string& to_string() const { return canonical_; }

    // Looks up param and derived names; chains to `problem` for `problem.*` names.
    NameLookup names(const NameLookup& problem = nullptr) const;

    bool operator==(const Variant& other) const { return canonical_ == other.canonical_; }
    bool operator!=(const Variant& other) const { return !(*this == other); }

    // Builds a variant from a request. `problem` (may be null) supplies values for params with
    // a `bind` that the request leaves out. Throws Error(bad_input) naming the field, the value
    // and what is allowed for unknown fields, bad values and violated constraints.
    static Variant resolve(const VariantRequest& request, std::shared_ptr<const TemplateSchema> schema,
                           const NameLookup& problem = nullptr);
    // The same without throwing for what resolve reports: nullopt, with the message in `why`
    // and the code (bad_input, or bad_problem for a bound field the problem cannot fill) in
    // `code`. Errors of the schema itself (an expression that cannot be evaluated) still throw.
    static std::optional<Variant> try_resolve(const VariantRequest& request, std::shared_ptr<const TemplateSchema> schema,
                                              const NameLookup& problem = nullptr, std::string* why = nullptr,
                                              ErrorCode* code = nullptr);

private:
    std::shared_ptr<const TemplateSchema> schema_;
    std::vector<Value> values_;  // schema order
    std::vector<std::pair<std::string, std::int64_t>> derived_;
    std::string canonical_;
};

// Parses `text` against the registry's schemas (defaults filled from the schema, or from
// `problem` for bound fields).
Variant parse_variant(const std::string& text, const TemplateRegistry& registry, const NameLookup& problem = nullptr);
// The same without throwing for malformed text, unknown templates and invalid values.
std::optional<Variant> try_parse_variant(const std::string& text, const TemplateRegistry& registry,
                                         const NameLookup& problem = nullptr, std::string* why = nullptr);

// The most variants one pattern may expand to, and the most combinations it may try.
inline constexpr size_t kMaxPatternVariants = 4096;
inline constexpr size_t kMaxPatternCombinations = 1u << 20;

// Expands a pattern whose values may be `*` (every allowed value) or `a|b|c` into every
// valid variant (invalid combinations are skipped and counted in `rejected`). Throws
// Error(bad_input) when it would give more than `limit` variants or try more than
// kMaxPatternCombinations combinations, with the count, before compiling anything.
std::vector<Variant> expand_variant_pattern(const std::string& pattern, const TemplateRegistry& registry,
                                            size_t* rejected = nullptr, const NameLookup& problem = nullptr,
                                            size_t limit = kMaxPatternVariants);

// The parameters whose values differ, as "name: a -> b" (for bisect and cache-miss reasons).
std::vector<std::string> variant_differences(const Variant& from, const Variant& to);
// The same for two split texts whose schema may be gone (a cache entry's variant): fields
// present on one side only read "(absent)".
std::vector<std::string> request_differences(const VariantRequest& from, const VariantRequest& to);

}  // namespace flashcore
