#include "flashcore/schema.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "core/enum_names.hpp"
#include "flashcore/error.hpp"

namespace flashcore {

using json = nlohmann::json;

namespace {
const detail::EnumName<TensorOperand> kOperands[] = {
    {TensorOperand::q, "q"}, {TensorOperand::k, "k"}, {TensorOperand::v, "v"}, {TensorOperand::o, "o"}};
const detail::EnumName<TensorSwizzle> kSwizzles[] = {
    {TensorSwizzle::none, "none"}, {TensorSwizzle::b32, "32B"}, {TensorSwizzle::b64, "64B"}, {TensorSwizzle::b128, "128B"}};
const detail::EnumName<L2Promotion> kPromotions[] = {
    {L2Promotion::none, "none"}, {L2Promotion::b64, "64B"}, {L2Promotion::b128, "128B"}, {L2Promotion::b256, "256B"}};
}  // namespace

const char* to_string(TensorOperand operand) { return detail::name_of(operand, kOperands); }
const char* to_string(TensorSwizzle swizzle) { return detail::name_of(swizzle, kSwizzles); }
const char* to_string(L2Promotion promotion) { return detail::name_of(promotion, kPromotions); }

bool LaunchContract::has_tensor_maps() const {
    for (const auto& a : args)
        if (a.kind == KernelArgSpec::Kind::tensor_map) return true;
    return false;
}

const std::vector<std::string>& problem_field_names() {
    static const std::vector<std::string> kNames = {
        "problem.B",      "problem.Hq",     "problem.Hkv",     "problem.Sq",      "problem.Skv",
        "problem.D",      "problem.causal", "problem.dtype",   "problem.has_lse", "problem.sm",
        "problem.num_sms", "problem.smem_optin"};
    return kNames;
}

std::optional<size_t> ParamSpec::index_of(const Value& value) const {
    for (size_t i = 0; i < values.size(); ++i)
        if (values[i] == value) return i;
    return std::nullopt;
}

std::optional<Value> ParamSpec::parse_value(const std::string& text) const {
    if (type == ParamType::enumeration) return Value{text};
    if (text.empty()) return std::nullopt;
    size_t used = 0;
    try {
        long long number = std::stoll(text, &used, 10);
        if (used != text.size()) return std::nullopt;
        return Value{static_cast<std::int64_t>(number)};
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

std::string ParamSpec::allowed_text() const {
    std::string out = "{";
    for (size_t i = 0; i < values.size(); ++i) out += (i ? ", " : "") + to_string(values[i]);
    return out + "}";
}

const ParamSpec* TemplateSchema::find_param(const std::string& name) const {
    for (const auto& p : params)
        if (p.name == name) return &p;
    return nullptr;
}

std::optional<size_t> TemplateSchema::param_index(const std::string& name) const {
    for (size_t i = 0; i < params.size(); ++i)
        if (params[i].name == name) return i;
    return std::nullopt;
}

namespace {

[[noreturn]] void schema_error(const std::string& origin, const std::string& what) {
    fail(Stage::validate, ErrorCode::bad_input, "template schema " + origin + ": " + what);
}

Value json_value(const json& node, const std::string& origin, const std::string& where) {
    if (node.is_number_integer()) return Value{node.get<std::int64_t>()};
    if (node.is_string()) return Value{node.get<std::string>()};
    schema_error(origin, where + " must be an integer or a string");
}

Expression parse_expr(const json& node, const std::string& origin, const std::string& where) {
    std::string text;
    if (node.is_string()) text = node.get<std::string>();
    else if (node.is_number_integer()) text = std::to_string(node.get<std::int64_t>());
    else schema_error(origin, where + " must be an expression string");
    try {
        return Expression::parse(text);
    } catch (const Error& e) {
        schema_error(origin, where + ": " + e.info().message);
    }
}

std::string text_field(const json& doc, const char* name, const std::string& origin, bool required) {
    if (!doc.contains(name)) {
        if (required) schema_error(origin, std::string("missing field '") + name + "'");
        return {};
    }
    if (!doc[name].is_string()) schema_error(origin, std::string("field '") + name + "' must be a string");
    return doc[name].get<std::string>();
}

std::vector<Check> parse_checks(const json& doc, const char* field, const std::string& origin) {
    std::vector<Check> out;
    if (!doc.contains(field)) return out;
    for (const auto& item : doc[field]) {
        std::string where = std::string(field) + "[" + std::to_string(out.size()) + "]";
        out.push_back({parse_expr(item.at("expr"), origin, where), item.value("message", "constraint violated")});
    }
    return out;
}

template <class E, std::size_t N>
E enum_field(const json& node, const char* field, const detail::EnumName<E> (&table)[N], E fallback,
             const std::string& origin, const std::string& where) {
    if (!node.contains(field)) return fallback;
    const json& value = node[field];
    std::optional<E> parsed = value.is_string() ? detail::value_of(value.get<std::string>(), table) : std::nullopt;
    if (!parsed)
        schema_error(origin, where + "." + field + " must be one of: " + detail::names_of(table) + " (got " +
                                 value.dump() + ")");
    return *parsed;
}

// Every name an expression reads must be a param, an earlier derived value or a problem field.
void check_names(const Expression& expr, const std::set<std::string>& known, bool allow_problem,
                 const std::string& origin, const std::string& where) {
    for (const auto& name : expr.names()) {
        if (known.count(name)) continue;
        bool is_problem = name.rfind("problem.", 0) == 0;
        if (is_problem && allow_problem) {
            const auto& fields = problem_field_names();
            if (std::find(fields.begin(), fields.end(), name) != fields.end()) continue;
            schema_error(origin, where + " reads unknown problem field '" + name + "'");
        }
        schema_error(origin, where + " reads unknown name '" + name + "'" +
                                 (is_problem ? " (problem fields are not available here)" : ""));
    }
}

}  // namespace

TemplateSchema TemplateSchema::from_json(const std::string& text, const std::string& origin) {
    json doc;
    try {
        doc = json::parse(text);
    } catch (const std::exception& e) {
        schema_error(origin, std::string("not valid JSON: ") + e.what());
    }
    if (!doc.is_object()) schema_error(origin, "top level must be an object");

    TemplateSchema schema;
    try {
        schema.id = text_field(doc, "template", origin, true);
        schema.summary = text_field(doc, "summary", origin, false);
        schema.kernel = text_field(doc, "kernel", origin, true);
        schema.signature = text_field(doc, "signature", origin, true);
        schema.arch_suffix = text_field(doc, "arch_suffix", origin, false);
        schema.min_sm = doc.value("min_sm", 70);
        schema.max_sm = doc.value("max_sm", 0);
        if (schema.max_sm != 0 && schema.max_sm < schema.min_sm)
            schema_error(origin, "max_sm " + std::to_string(schema.max_sm) + " is below min_sm " +
                                     std::to_string(schema.min_sm));
        if (schema.signature != "attention")
            schema_error(origin, "signature '" + schema.signature + "' is not supported (only 'attention')");
        if (!schema.arch_suffix.empty() && schema.arch_suffix != "a")
            schema_error(origin, "arch_suffix must be \"\" or \"a\"");

        std::set<std::string> known;
        for (const auto& item : doc.value("params", json::array())) {
            ParamSpec p;
            p.name = item.at("name").get<std::string>();
            std::string where = "param '" + p.name + "'";
            std::string type = item.at("type").get<std::string>();
            if (type == "int") p.type = ParamType::integer;
            else if (type == "enum") p.type = ParamType::enumeration;
            else schema_error(origin, where + ": type must be int or enum, not '" + type + "'");
            for (const auto& v : item.at("values")) {
                Value value = json_value(v, origin, where + " value");
                bool is_int = std::holds_alternative<std::int64_t>(value);
                if (is_int != (p.type == ParamType::integer))
                    schema_error(origin, where + ": value " + to_string(value) + " does not match type " + type);
                p.values.push_back(value);
            }
            if (p.values.empty()) schema_error(origin, where + " has no values");
            p.default_value = json_value(item.at("default"), origin, where + " default");
            if (!p.index_of(p.default_value))
                schema_error(origin, where + ": default " + to_string(p.default_value) + " is not in " + p.allowed_text());
            p.bind = item.value("bind", "");
            if (!p.bind.empty()) {
                const auto& fields = problem_field_names();
                if (std::find(fields.begin(), fields.end(), "problem." + p.bind) == fields.end())
                    schema_error(origin, where + ": bind '" + p.bind + "' is not a problem field");
            }
            p.hidden = item.value("hidden", false);
            p.doc = item.value("doc", "");
            if (!known.insert(p.name).second) schema_error(origin, "duplicate name '" + p.name + "'");
            schema.params.push_back(std::move(p));
        }
        for (const auto& item : doc.value("derived", json::array())) {
            std::string name = item.at("name").get<std::string>();
            Expression expr = parse_expr(item.at("expr"), origin, "derived '" + name + "'");
            check_names(expr, known, false, origin, "derived '" + name + "'");
            if (!known.insert(name).second) schema_error(origin, "duplicate name '" + name + "'");
            schema.derived.push_back({name, std::move(expr)});
        }
        schema.constraints = parse_checks(doc, "constraints", origin);
        for (const auto& c : schema.constraints) check_names(c.expr, known, false, origin, "constraint '" + c.expr.text() + "'");
        schema.problem_checks = parse_checks(doc, "problem", origin);
        for (const auto& c : schema.problem_checks) check_names(c.expr, known, true, origin, "problem check '" + c.expr.text() + "'");

        const json& launch = doc.at("launch");
        auto launch_expr = [&](const char* field, const char* fallback) {
            Expression e = launch.contains(field) ? parse_expr(launch[field], origin, std::string("launch.") + field)
                                                  : Expression::parse(fallback);
            check_names(e, known, true, origin, std::string("launch.") + field);
            return e;
        };
        schema.launch.block = launch_expr("block", "0");
        schema.launch.dynamic_smem = launch_expr("dynamic_smem", "0");
        schema.launch.workspace_bytes = launch_expr("workspace_bytes", "0");
        schema.launch.workspace_zero_bytes = launch_expr("workspace_zero_bytes", "0");
        schema.launch.programmatic = launch_expr("programmatic", "0");
        auto expr_list = [&](const json& list, const std::string& where, size_t max) {
            static const char* const kWords[] = {"zero", "one", "two", "three", "four"};
            if (!list.is_array() || list.empty() || list.size() > max)
                schema_error(origin, where + " must be a list of one to " + kWords[max] + " expressions");
            std::vector<Expression> out;
            for (const auto& item : list) {
                Expression e = parse_expr(item, origin, where);
                check_names(e, known, true, origin, where);
                out.push_back(std::move(e));
            }
            return out;
        };
        schema.launch.grid = expr_list(launch.contains("grid") ? launch["grid"] : json(), "launch.grid", 3);
        if (launch.contains("cluster")) schema.launch.cluster = expr_list(launch["cluster"], "launch.cluster", 3);
        if (!launch.contains("args")) schema.launch.args.push_back(KernelArgSpec{});
        else if (!launch["args"].is_array() || launch["args"].empty())
            schema_error(origin, "launch.args must be a non-empty list");
        for (const auto& item : launch.value("args", json::array())) {
            std::string where = "launch.args[" + std::to_string(schema.launch.args.size()) + "]";
            KernelArgSpec arg;
            std::string kind = item.value("kind", "");
            if (kind == "params") {
                arg.kind = KernelArgSpec::Kind::params;
            } else if (kind == "tensor_map") {
                arg.kind = KernelArgSpec::Kind::tensor_map;
                if (!item.contains("tensor")) schema_error(origin, where + " (tensor_map) needs \"tensor\": q, k, v or o");
                arg.tensor = enum_field(item, "tensor", kOperands, TensorOperand::q, origin, where);
                if (!item.contains("box")) schema_error(origin, where + " (tensor_map) needs \"box\"");
                arg.box = expr_list(item["box"], where + ".box", 4);
                arg.swizzle = enum_field(item, "swizzle", kSwizzles, TensorSwizzle::none, origin, where);
                arg.l2_promotion = enum_field(item, "l2_promotion", kPromotions, L2Promotion::b128, origin, where);
            } else {
                schema_error(origin, where + ".kind must be \"params\" or \"tensor_map\", not '" + kind + "'");
            }
            schema.launch.args.push_back(std::move(arg));
        }
        size_t params = 0;
        for (const auto& a : schema.launch.args) params += a.kind == KernelArgSpec::Kind::params;
        if (params != 1)
            schema_error(origin, "launch.args must hold exactly one {\"kind\": \"params\"} (the FcAttentionParams struct), not " +
                                     std::to_string(params));
    } catch (const json::exception& e) {
        schema_error(origin, std::string("malformed: ") + e.what());
    }
    return schema;
}

}  // namespace flashcore
