#include "flashcore/variant.hpp"

#include <set>

#include "flashcore/error.hpp"
#include "flashcore/template_registry.hpp"

namespace flashcore {

namespace {

[[noreturn]] void variant_error(const std::string& text, const std::string& what) {
    fail(Stage::validate, ErrorCode::bad_input, "variant '" + text + "': " + what);
}

std::string trim(const std::string& s) {
    size_t b = s.find_first_not_of(" \t");
    size_t e = s.find_last_not_of(" \t");
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

std::string field_list(const TemplateSchema& schema) {
    std::string out;
    for (const auto& p : schema.params) {
        if (p.hidden) continue;
        out += (out.empty() ? "" : ", ") + p.name;
    }
    return out.empty() ? "(none)" : out;
}

}  // namespace

VariantRequest split_variant_text(const std::string& raw) {
    std::string text = trim(raw);
    VariantRequest request;
    size_t colon = text.find(':');
    request.template_id = trim(text.substr(0, colon));
    if (request.template_id.empty()) variant_error(raw, "missing template name (expected TEMPLATE[:name=value,...])");
    if (colon == std::string::npos) return request;
    std::string rest = text.substr(colon + 1);
    size_t pos = 0;
    while (pos <= rest.size()) {
        size_t comma = rest.find(',', pos);
        std::string item = trim(rest.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos));
        if (!item.empty()) {
            size_t eq = item.find('=');
            if (eq == std::string::npos) variant_error(raw, "field '" + item + "' has no '=value'");
            std::string name = trim(item.substr(0, eq));
            std::string value = trim(item.substr(eq + 1));
            if (name.empty()) variant_error(raw, "a field has an empty name");
            if (value.empty()) variant_error(raw, "field '" + name + "' has an empty value");
            for (const auto& [seen, _] : request.fields)
                if (seen == name) variant_error(raw, "field '" + name + "' is given twice");
            request.fields.emplace_back(name, value);
        } else if (comma != std::string::npos) {
            variant_error(raw, "empty field between commas");
        }
        if (comma == std::string::npos) break;
        pos = comma + 1;
    }
    return request;
}

const Value& Variant::value(const std::string& name) const {
    auto index = schema_->param_index(name);
    if (!index) fail(Stage::validate, ErrorCode::internal, "variant " + canonical_ + " has no field '" + name + "'");
    return values_[*index];
}

std::int64_t Variant::int_value(const std::string& name) const {
    const Value& v = value(name);
    if (auto* i = std::get_if<std::int64_t>(&v)) return *i;
    fail(Stage::validate, ErrorCode::internal, "field '" + name + "' of " + canonical_ + " is not an integer");
}

NameLookup Variant::names(const NameLookup& problem) const {
    // Copies what it needs so the lookup may outlive this object.
    auto schema = schema_;
    auto values = values_;
    auto derived = derived_;
    return [schema, values, derived, problem](const std::string& name) -> std::optional<Value> {
        if (auto index = schema->param_index(name)) return values[*index];
        for (const auto& [dname, dvalue] : derived)
            if (dname == name) return Value{dvalue};
        if (problem && name.rfind("problem.", 0) == 0) return problem(name);
        return std::nullopt;
    };
}

Variant Variant::resolve(const VariantRequest& request, std::shared_ptr<const TemplateSchema> schema,
                         const NameLookup& problem) {
    Variant v;
    v.schema_ = schema;
    v.values_.resize(schema->params.size());
    std::vector<bool> given(schema->params.size(), false);

    for (const auto& [name, text] : request.fields) {
        auto index = schema->param_index(name);
        if (!index)
            fail(Stage::validate, ErrorCode::bad_input,
                 "template '" + schema->id + "' has no field '" + name + "'; its fields are: " + field_list(*schema));
        const ParamSpec& spec = schema->params[*index];
        auto value = spec.parse_value(text);
        if (!value || !spec.index_of(*value))
            fail(Stage::validate, ErrorCode::bad_input,
                 "field '" + name + "' of template '" + schema->id + "' cannot be '" + text + "'; allowed: " +
                     spec.allowed_text());
        v.values_[*index] = *value;
        given[*index] = true;
    }
    for (size_t i = 0; i < schema->params.size(); ++i) {
        if (given[i]) continue;
        const ParamSpec& spec = schema->params[i];
        v.values_[i] = spec.default_value;
        if (spec.bind.empty() || !problem) continue;
        auto bound = problem("problem." + spec.bind);
        if (!bound) continue;
        if (!spec.index_of(*bound))
            fail(Stage::validate, ErrorCode::bad_problem,
                 "template '" + schema->id + "' field '" + spec.name + "' follows the problem's " + spec.bind + ", but " +
                     spec.bind + "=" + flashcore::to_string(*bound) + " is not among its values " + spec.allowed_text());
        v.values_[i] = *bound;
    }

    // Derived values may depend on any param; evaluate them before the constraints.
    NameLookup partial = [&](const std::string& name) -> std::optional<Value> {
        if (auto index = schema->param_index(name)) return v.values_[*index];
        for (const auto& [dname, dvalue] : v.derived_)
            if (dname == name) return Value{dvalue};
        return std::nullopt;
    };
    for (const auto& d : schema->derived) v.derived_.emplace_back(d.name, d.expr.evaluate_int(partial));

    v.canonical_ = schema->id;
    std::string fields;
    for (size_t i = 0; i < schema->params.size(); ++i) {
        const ParamSpec& spec = schema->params[i];
        if (spec.hidden && v.values_[i] == spec.default_value) continue;
        fields += (fields.empty() ? "" : ",") + spec.name + "=" + flashcore::to_string(v.values_[i]);
    }
    if (!fields.empty()) v.canonical_ += ":" + fields;

    for (const auto& c : schema->constraints) {
        if (c.expr.evaluate_int(partial)) continue;
        fail(Stage::validate, ErrorCode::bad_input,
             "variant " + v.canonical_ + " is invalid: " + substitute_names(c.message, partial) + " (rule: " +
                 c.expr.text() + ")");
    }
    return v;
}

Variant parse_variant(const std::string& text, const TemplateRegistry& registry, const NameLookup& problem) {
    VariantRequest request = split_variant_text(text);
    return Variant::resolve(request, registry.schema(request.template_id), problem);
}

std::vector<Variant> expand_variant_pattern(const std::string& pattern, const TemplateRegistry& registry,
                                            size_t* rejected, const NameLookup& problem) {
    VariantRequest request = split_variant_text(pattern);
    auto schema = registry.schema(request.template_id);
    // Each field's list of alternatives; a lone value is a list of one.
    std::vector<std::pair<std::string, std::vector<std::string>>> choices;
    for (const auto& [name, text] : request.fields) {
        std::vector<std::string> options;
        if (text == "*") {
            const ParamSpec* spec = schema->find_param(name);
            if (!spec)
                fail(Stage::validate, ErrorCode::bad_input,
                     "template '" + schema->id + "' has no field '" + name + "'; its fields are: " + field_list(*schema));
            for (const auto& value : spec->values) options.push_back(to_string(value));
        } else {
            size_t pos = 0;
            for (;;) {
                size_t bar = text.find('|', pos);
                options.push_back(text.substr(pos, bar == std::string::npos ? std::string::npos : bar - pos));
                if (bar == std::string::npos) break;
                pos = bar + 1;
            }
        }
        // Check names and values up front: after this, a failed resolve is a rejected combination.
        const ParamSpec* spec = schema->find_param(name);
        if (!spec)
            fail(Stage::validate, ErrorCode::bad_input,
                 "template '" + schema->id + "' has no field '" + name + "'; its fields are: " + field_list(*schema));
        for (const auto& option : options) {
            auto value = spec->parse_value(option);
            if (!value || !spec->index_of(*value))
                fail(Stage::validate, ErrorCode::bad_input,
                     "field '" + name + "' of template '" + schema->id + "' cannot be '" + option + "'; allowed: " +
                         spec->allowed_text());
        }
        choices.emplace_back(name, std::move(options));
    }
    std::vector<Variant> out;
    std::set<std::string> seen;
    size_t invalid = 0;
    std::vector<size_t> odometer(choices.size(), 0);
    for (;;) {
        VariantRequest one{request.template_id, {}};
        for (size_t i = 0; i < choices.size(); ++i) one.fields.emplace_back(choices[i].first, choices[i].second[odometer[i]]);
        try {
            Variant v = Variant::resolve(one, schema, problem);
            if (seen.insert(v.to_string()).second) out.push_back(std::move(v));
        } catch (const Error& e) {
            if (e.code() != ErrorCode::bad_input) throw;
            ++invalid;
        }
        size_t i = 0;
        while (i < odometer.size() && ++odometer[i] == choices[i].second.size()) odometer[i++] = 0;
        if (i == odometer.size()) break;
    }
    if (rejected) *rejected = invalid;
    return out;
}

std::vector<std::string> variant_differences(const Variant& from, const Variant& to) {
    std::vector<std::string> out;
    if (from.template_id() != to.template_id()) {
        out.push_back("template: " + from.template_id() + " -> " + to.template_id());
        return out;
    }
    const auto& params = from.schema().params;
    for (size_t i = 0; i < params.size(); ++i)
        if (from.values()[i] != to.values()[i])
            out.push_back(params[i].name + ": " + to_string(from.values()[i]) + " -> " + to_string(to.values()[i]));
    return out;
}

}  // namespace flashcore
