#include "core/json_codec.hpp"

namespace flashcore {

using json = nlohmann::json;

void to_json(json& j, const DType& dtype) { j = to_string(dtype); }
void from_json(const json& j, DType& dtype) { dtype = parse_dtype(j.get<std::string>()); }

namespace {
const std::pair<const char*, int AttentionProblem::*> kSizes[] = {
    {"B", &AttentionProblem::B},   {"Hq", &AttentionProblem::Hq}, {"Hkv", &AttentionProblem::Hkv},
    {"Sq", &AttentionProblem::Sq}, {"Skv", &AttentionProblem::Skv}, {"D", &AttentionProblem::D}};
}  // namespace

void to_json(json& j, const AttentionProblem& p) {
    j = {{"causal", p.causal}, {"dtype", p.dtype}};
    for (const auto& [name, member] : kSizes) j[name] = p.*member;
    if (p.scale != 0.f) j["scale"] = p.scale;
    if (p.with_lse) j["with_lse"] = true;
}

void from_json(const json& j, AttentionProblem& p) {
    p = AttentionProblem{};
    for (const auto& [name, member] : kSizes) j.at(name).get_to(p.*member);
    p.causal = j.value("causal", false);
    if (j.contains("dtype")) j.at("dtype").get_to(p.dtype);
    p.scale = j.value("scale", 0.f);
    p.with_lse = j.value("with_lse", false);
}

void to_json(json& j, const KeyComponents& c) {
    j = {{"key_schema", c.key_schema}};
    for (const auto& field : KeyComponents::text_fields()) j[field.name] = c.*field.member;
}

void from_json(const json& j, KeyComponents& c) {
    j.at("key_schema").get_to(c.key_schema);
    for (const auto& field : KeyComponents::text_fields()) j.at(field.name).get_to(c.*field.member);
}

void to_json(json& j, const EntryManifest& m) {
    const Compiled& compiled = m.entry.compiled;
    j = {{"format", m.format},
         {"key", m.entry.key},
         {"components", m.entry.components},
         {"lowered_name", compiled.lowered_name},
         {"resources", compiled.resources},
         {"warnings", compiled.warnings},
         {"log", compiled.log},
         {"compile_ms", compiled.compile_ms},
         {"cubin_bytes", m.cubin_bytes},
         {"cubin_xxh3_64", m.cubin_xxh3_64},
         {"created_unix_ms", m.entry.created_unix_ms}};
}

void from_json(const json& j, EntryManifest& m) {
    j.at("format").get_to(m.format);
    j.at("key").get_to(m.entry.key);
    j.at("components").get_to(m.entry.components);
    Compiled& compiled = m.entry.compiled;
    j.at("lowered_name").get_to(compiled.lowered_name);
    j.at("resources").get_to(compiled.resources);
    j.at("warnings").get_to(compiled.warnings);
    j.at("log").get_to(compiled.log);
    j.at("compile_ms").get_to(compiled.compile_ms);
    j.at("cubin_bytes").get_to(m.cubin_bytes);
    j.at("cubin_xxh3_64").get_to(m.cubin_xxh3_64);
    j.at("created_unix_ms").get_to(m.entry.created_unix_ms);
}

void to_json(json& j, const ToolkitFacts& f) { j = {{"nvrtc", f.nvrtc_version}, {"headers", f.header_digests}}; }

void from_json(const json& j, ToolkitFacts& f) {
    j.at("nvrtc").get_to(f.nvrtc_version);
    j.at("headers").get_to(f.header_digests);
}

void to_json(json& j, const DeviceInfo& d) {
    j = {{"ordinal", d.ordinal},
         {"name", d.name},
         {"arch", "sm_" + std::to_string(d.sm)},
         {"sms", d.num_sms},
         {"smem_optin_bytes", d.smem_per_block_optin},
         {"l2_bytes", d.l2_bytes},
         {"memory_bytes", d.total_memory}};
}

void from_json(const json& j, DeviceInfo& d) {
    d = DeviceInfo{};
    d.ordinal = j.value("ordinal", 0);
    d.name = j.value("name", "");
    if (j.contains("arch")) d.sm = Target::parse(j.at("arch").get<std::string>()).sm;
    d.num_sms = j.value("sms", 0);
    d.smem_per_block_optin = j.value("smem_optin_bytes", 0);
    d.l2_bytes = j.value("l2_bytes", 0);
    d.total_memory = j.value("memory_bytes", std::size_t{0});
}

}  // namespace flashcore
