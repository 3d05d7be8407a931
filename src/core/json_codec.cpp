#include "core/json_codec.hpp"

namespace flashcore {

using json = nlohmann::json;

void to_json(json& j, DType dtype) { j = to_string(dtype); }
void from_json(const json& j, DType& dtype) { dtype = parse_dtype(j.get<std::string>()); }

void to_json(json& j, const AttentionProblem& p) {
    j = {{"B", p.B}, {"Hq", p.Hq}, {"Hkv", p.Hkv}, {"Sq", p.Sq},          {"Skv", p.Skv},
         {"D", p.D}, {"causal", p.causal},          {"dtype", p.dtype}};
    if (p.scale != 0.f) j["scale"] = p.scale;
    if (p.with_lse) j["with_lse"] = true;
}

void from_json(const json& j, AttentionProblem& p) {
    p = AttentionProblem{};
    j.at("B").get_to(p.B);
    j.at("Hq").get_to(p.Hq);
    j.at("Hkv").get_to(p.Hkv);
    j.at("Sq").get_to(p.Sq);
    j.at("Skv").get_to(p.Skv);
    j.at("D").get_to(p.D);
    p.causal = j.value("causal", false);
    if (j.contains("dtype")) j.at("dtype").get_to(p.dtype);
    p.scale = j.value("scale", 0.f);
    p.with_lse = j.value("with_lse", false);
}

void to_json(json& j, const KeyComponents& c) {
    j = json::object();
    for (const auto& [name, value] : c.fields()) j[name] = value;
    j["key_schema"] = c.key_schema;
}

void from_json(const json& j, KeyComponents& c) {
    j.at("key_schema").get_to(c.key_schema);
    j.at("template").get_to(c.template_id);
    j.at("content").get_to(c.content_digest);
    j.at("variant").get_to(c.variant);
    j.at("options").get_to(c.options);
    j.at("arch").get_to(c.arch);
    j.at("nvrtc").get_to(c.nvrtc_version);
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
