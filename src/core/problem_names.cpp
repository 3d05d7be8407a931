#include "flashcore/problem_names.hpp"

namespace flashcore {

NameLookup problem_names(const AttentionProblem& p, const DeviceInfo* device) {
    // 0 is "unknown" in DeviceInfo (a compile-only report knows the sm, not the SM count).
    int sm = device && device->sm > 0 ? device->sm : -1;
    int sms = device && device->num_sms > 0 ? device->num_sms : -1;
    int optin = device && device->smem_per_block_optin > 0 ? device->smem_per_block_optin : -1;
    return [p, sm, sms, optin](const std::string& name) -> std::optional<Value> {
        if (name == "problem.B") return Value{std::int64_t{p.B}};
        if (name == "problem.Hq") return Value{std::int64_t{p.Hq}};
        if (name == "problem.Hkv") return Value{std::int64_t{p.Hkv}};
        if (name == "problem.Sq") return Value{std::int64_t{p.Sq}};
        if (name == "problem.Skv") return Value{std::int64_t{p.Skv}};
        if (name == "problem.D") return Value{std::int64_t{p.D}};
        if (name == "problem.causal") return Value{std::int64_t{p.causal}};
        if (name == "problem.dtype") return Value{std::string(flashcore::to_string(p.dtype))};
        if (name == "problem.has_lse") return Value{std::int64_t{p.with_lse}};
        if (name == "problem.sm" && sm >= 0) return Value{std::int64_t{sm}};
        if (name == "problem.num_sms" && sms >= 0) return Value{std::int64_t{sms}};
        if (name == "problem.smem_optin" && optin >= 0) return Value{std::int64_t{optin}};
        return std::nullopt;
    };
}

}  // namespace flashcore
