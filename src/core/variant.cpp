#include "flashcore/variant.hpp"

#include <algorithm>

#include <map>
#include <set>

#include "core/text.hpp"
#include "flashcore/error.hpp"
#include "flashcore/template_registry.hpp"

namespace flashcore {

namespace {

std::string field_list(const TemplateSchema& schema) {
    std::string out;
    for (const auto& p : schema.params) {
        if (p.hidden) continue;
        out += (out.empty() ? "" : ", ") + p.name;
    }
    return out.empty() ? "(none)" : out;
}

// Why a text or request is not a variant: filled instead of throwing, so callers that only ask
// ("is this valid?") get an answer without exceptions. Throwing callers raise it as is.
struct Refusal {
    ErrorCode code = ErrorCode::bad_input;
    std::string message;
};

std::optional<VariantRequest> split(const std::string& raw, Refusal& why) {
    auto refuse = [&](const std::string& what) {
        why = {ErrorCode::bad_input, "variant '" + raw + "': " + what};
        return std::nullopt;
    };
    std::string text = detail::trim(raw);
    VariantRequest request;
    size_t colon = text.find(':');
    request.template_id = detail::trim(text.substr(0, colon));
    if (request.template_id.empty()) return refuse("missing template name (expected TEMPLATE[:name=value,...])");
    if (colon == std::string::npos) return request;
    std::vector<std::string> items = detail::split(text.substr(colon + 1), ',');
    for (size_t i = 0; i < items.size(); ++i) {
        std::string item = detail::trim(items[i]);
        if (item.empty()) {
            if (i + 1 < items.size()) return refuse("empty field between commas");
            continue;  // a trailing comma
        }
        size_t eq = item.find('=');
        if (eq == std::string::npos) return refuse("field '" + item + "' has no '=value'");
        std::string name = detail::trim(item.substr(0, eq));
        std::string value = detail::trim(item.substr(eq + 1));
        if (name.empty()) return refuse("a field has an empty name");
        if (value.empty()) return refuse("field '" + name + "' has an empty value");
        for (const auto& [seen, _] : request.fields)
            if (seen == name) return refuse("field '" + name + "' is given twice");
        request.fields.emplace_back(name, value);
    }
    return request;
}

[[noreturn]] void raise(const Refusal& why) { fail(Stage::validate, why.code, why.message); }

}  // namespace

VariantRequest& VariantRequest::set(const std::string& name, const Value& value) {
    for (auto& [field, text] : fields)
        if (field == name) {
            text = to_string(value);
            return *this;
        }
    fields.emplace_back(name, to_string(value));
    return *this;
}

VariantRequest split_variant_text(const std::string& text) {
    Refusal why;
    if (auto request = split(text, why)) return *request;
    raise(why);
}

std::optional<VariantRequest> try_split_variant_text(const std::string& text, std::string* why) {
    Refusal refusal;
    auto request = split(text, refusal);
    if (!request && why) *why = refusal.message;
    return request;
}

std::string canonical_text(const TemplateSchema& schema, const std::vector<Value>& values) {
    std::string fields;
    for (size_t i = 0; i < schema.params.size() && i < values.size(); ++i) {
        const ParamSpec& spec = schema.params[i];
        if (spec.hidden && values[i] == spec.default_value) continue;
        fields += (fields.empty() ? "" : ",") + spec.name + "=" + flashcore::to_string(values[i]);
    }
    return fields.empty() ? schema.id : schema.id + ":" + fields;
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

std::optional<Variant> Variant::try_resolve(const VariantRequest& request, std::shared_ptr<const TemplateSchema> schema,
                                            const NameLookup& problem, std::string* why, ErrorCode* code) {
    auto refuse = [&](ErrorCode c, const std::string& message) -> std::optional<Variant> {
        if (why) *why = message;
        if (code) *code = c;
        return std::nullopt;
    };
    Variant v;
    v.schema_ = schema;
    v.values_.resize(schema->params.size());
    std::vector<bool> given(schema->params.size(), false);

    for (const auto& [name, text] : request.fields) {
        auto index = schema->param_index(name);
        if (!index)
            return refuse(ErrorCode::bad_input, "template '" + schema->id + "' has no field '" + name +
                                                    "'; its fields are: " + field_list(*schema));
        const ParamSpec& spec = schema->params[*index];
        auto value = spec.parse_value(text);
        if (!value || !spec.index_of(*value))
            return refuse(ErrorCode::bad_input, "field '" + name + "' of template '" + schema->id + "' cannot be '" +
                                                    text + "'; allowed: " + spec.allowed_text());
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
            return refuse(ErrorCode::bad_problem, "template '" + schema->id + "' field '" + spec.name +
                                                      "' follows the problem's " + spec.bind + ", but " + spec.bind + "=" +
                                                      flashcore::to_string(*bound) + " is not among its values " +
                                                      spec.allowed_text());
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

    v.canonical_ = canonical_text(*schema, v.values_);
    for (const auto& c : schema->constraints) {
        if (c.expr.evaluate_int(partial)) continue;
        return refuse(ErrorCode::bad_input, "variant " + v.canonical_ + " is invalid: " +
                                                substitute_names(c.message, partial) + " (rule: " + c.expr.text() + ")");
    }
    return v;
}

Variant Variant::resolve(const VariantRequest& request, std::shared_ptr<const TemplateSchema> schema,
                         const NameLookup& problem) {
    Refusal why;
    if (auto v = try_resolve(request, std::move(schema), problem, &why.message, &why.code)) return std::move(*v);
    raise(why);
}

std::optional<Variant> try_parse_variant(const std::string& text, const TemplateRegistry& registry,
                                         const NameLookup& problem, std::string* why) {
    auto request = try_split_variant_text(text, why);
    if (!request) return std::nullopt;
    auto schema = registry.find(request->template_id);
    if (!schema) {
        if (why) *why = "unknown template '" + request->template_id + "'";
        return std::nullopt;
    }
    return Variant::try_resolve(*request, schema, problem, why);
}

Variant parse_variant(const std::string& text, const TemplateRegistry& registry, const NameLookup& problem) {
    VariantRequest request = split_variant_text(text);
    return Variant::resolve(request, registry.schema(request.template_id), problem);
}

std::vector<Variant> expand_variant_pattern(const std::string& pattern, const TemplateRegistry& registry,
                                            size_t* rejected, const NameLookup& problem, size_t limit) {
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
            options = detail::split(text, '|');
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
    size_t combinations = 1;
    for (const auto& choice : choices) {
        combinations *= std::max<size_t>(choice.second.size(), 1);
        if (combinations > kMaxPatternCombinations)
            fail(Stage::validate, ErrorCode::bad_input,
                 "pattern '" + pattern + "' has more than " + std::to_string(kMaxPatternCombinations) +
                     " combinations; narrow it (fewer '*' or '|' alternatives) or split it into several patterns");
    }
    std::vector<Variant> out;
    std::set<std::string> seen;
    size_t invalid = 0;
    std::vector<size_t> odometer(choices.size(), 0);
    for (;;) {
        VariantRequest one{request.template_id, {}};
        for (size_t i = 0; i < choices.size(); ++i) one.fields.emplace_back(choices[i].first, choices[i].second[odometer[i]]);
        Refusal why;
        if (auto v = Variant::try_resolve(one, schema, problem, &why.message, &why.code)) {
            if (seen.insert(v->to_string()).second) out.push_back(std::move(*v));
            if (out.size() > limit)
                fail(Stage::validate, ErrorCode::bad_input,
                     "pattern '" + pattern + "' expands to more than " + std::to_string(limit) + " variants (of " +
                         std::to_string(combinations) +
                         " combinations); narrow it (fewer '*' or '|' alternatives) or split it into several patterns");
        } else if (why.code != ErrorCode::bad_input) {
            raise(why);  // the problem itself does not fit (a bound field): not a rejected combination
        } else {
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

std::vector<std::string> request_differences(const VariantRequest& from, const VariantRequest& to) {
    std::map<std::string, std::string> a(from.fields.begin(), from.fields.end()), b(to.fields.begin(), to.fields.end());
    std::vector<std::string> out;
    if (from.template_id != to.template_id) out.push_back("template: " + from.template_id + " -> " + to.template_id);
    for (const auto& [name, value] : b) {
        auto it = a.find(name);
        std::string old = it == a.end() ? "(absent)" : it->second;
        if (old != value) out.push_back(name + ": " + old + " -> " + value);
    }
    for (const auto& [name, value] : a)
        if (!b.count(name)) out.push_back(name + ": " + value + " -> (absent)");
    return out;
}

}  // namespace flashcore
