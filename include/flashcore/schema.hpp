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

// A tensor-map kernel argument (TMA, sm_90+): which operand it views and how it is tiled.
// The semantics (rank 4 view (D, S, H, B), strides from FcAttentionParams, element type from
// the problem) are in docs/templates.md and tensor_map.hpp.
enum class TensorOperand { q, k, v, o };
enum class TensorSwizzle { none, b32, b64, b128 };  // "none" | "32B" | "64B" | "128B"
enum class L2Promotion { none, b64, b128, b256 };   // "none" | "64B" | "128B" | "256B"
const char* to_string(TensorOperand operand);
const char* to_string(TensorSwizzle swizzle);
const char* to_string(L2Promotion promotion);

// One kernel parameter, in the kernel's parameter order.
struct KernelArgSpec {
    enum class Kind { params, tensor_map };
    Kind kind = Kind::params;
    // tensor_map only:
    TensorOperand tensor = TensorOperand::q;
    std::vector<Expression> box;  // 1..4 entries, innermost first; missing trailing entries are 1
    TensorSwizzle swizzle = TensorSwizzle::none;
    L2Promotion l2_promotion = L2Promotion::b128;
};

struct LaunchContract {
    Expression block;
    std::vector<Expression> grid;  // one to three dimensions
    Expression dynamic_smem;
    Expression workspace_bytes;
    Expression workspace_zero_bytes;
    Expression programmatic;  // nonzero: launch with programmatic stream serialization (PDL)
    // Thread-block cluster dimensions (sm_90+); empty: no cluster launch (1,1,1).
    std::vector<Expression> cluster;
    // Kernel parameters in order; exactly one `params` (FcAttentionParams). Default: {params}.
    std::vector<KernelArgSpec> args;

    bool has_tensor_maps() const;
};

struct TemplateSchema {
    std::string id;
    std::string summary;
    std::string kernel;     // C++ name of the __global__ function
    std::string signature;  // "attention"
    std::string arch_suffix;
    int min_sm = 70;
    // Highest compute capability the template runs on; 0: no limit. An "a" target
    // (sm_90a: wgmma, setmaxnreg) is not forward compatible, so such a family sets 90.
    int max_sm = 0;
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
