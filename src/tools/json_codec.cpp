#include "tools/json_codec.hpp"

#include "flashcore/error.hpp"

namespace flashcore {

using json = nlohmann::json;

namespace {

// Optional fields: written when they hold a value, read only when present.
void put(json& j, const char* name, const std::string& value) {
    if (!value.empty()) j[name] = value;
}
void put(json& j, const char* name, double value) {
    if (value >= 0) j[name] = value;
}
void put(json& j, const char* name, long long value) {
    if (value >= 0) j[name] = value;
}
template <class T>
void take(const json& j, const char* name, T& value) {
    if (j.contains(name) && !j[name].is_null()) j[name].get_to(value);
}

}  // namespace

void to_json(json& j, const ProbeRequest& r) {
    j = {{"variants", json::array({r.variant})}, {"problem", r.problem}, {"seed", r.seed},       {"verify", r.verify},
         {"time", r.time},          {"dump", r.dump_path},  {"compile", r.compile}, {"device", r.device}};
}

void from_json(const json& j, ProbeRequest& r) {
    r = ProbeRequest{};
    std::vector<std::string> variants = probe_variants(j);
    r.variant = variants.front();
    j.at("problem").get_to(r.problem);
    take(j, "seed", r.seed);
    take(j, "verify", r.verify);
    take(j, "time", r.time);
    take(j, "dump", r.dump_path);
    take(j, "compile", r.compile);
    take(j, "device", r.device);
}

std::vector<std::string> probe_variants(const json& document) {
    std::vector<std::string> variants = document.at("variants").get<std::vector<std::string>>();
    if (variants.empty())
        fail(Stage::validate, ErrorCode::bad_input, "probe request: \"variants\" lists no variant to run");
    return variants;
}

void to_json(json& j, const ProbeResult& r) {
    j = {{"verdict", r.verdict}, {"variant", r.variant}};
    put(j, "message", r.message);
    if (r.seed) j["seed"] = r.seed;
    put(j, "source", r.cache_source);
    put(j, "key", r.key);
    put(j, "max_abs_err", r.max_abs_err);
    put(j, "mean_abs_err", r.mean_abs_err);
    put(j, "non_finite", r.non_finite);
    put(j, "tolerance", r.tolerance);
    put(j, "reference", r.reference);
    put(j, "compared", r.compared);
    put(j, "us_graph", r.us_graph);
    put(j, "us_graph_min", r.us_graph_min);
    put(j, "us_graph_max", r.us_graph_max);
    put(j, "us_eager", r.us_eager);
    put(j, "error_code", r.error_code);
    put(j, "stage", r.error_stage);
    put(j, "log", r.log);
    if (r.exit_code != -1) j["exit_code"] = r.exit_code;
    if (r.signal) j["signal"] = r.signal;
    if (r.wall_ms > 0) j["wall_ms"] = r.wall_ms;
}

void from_json(const json& j, ProbeResult& r) {
    j.at("verdict").get_to(r.verdict);
    take(j, "variant", r.variant);
    take(j, "message", r.message);
    take(j, "seed", r.seed);
    take(j, "source", r.cache_source);
    take(j, "key", r.key);
    take(j, "max_abs_err", r.max_abs_err);
    take(j, "mean_abs_err", r.mean_abs_err);
    take(j, "non_finite", r.non_finite);
    take(j, "tolerance", r.tolerance);
    take(j, "reference", r.reference);
    take(j, "compared", r.compared);
    take(j, "us_graph", r.us_graph);
    take(j, "us_graph_min", r.us_graph_min);
    take(j, "us_graph_max", r.us_graph_max);
    take(j, "us_eager", r.us_eager);
    take(j, "error_code", r.error_code);
    take(j, "stage", r.error_stage);
    take(j, "log", r.log);
    take(j, "exit_code", r.exit_code);
    take(j, "signal", r.signal);
    take(j, "wall_ms", r.wall_ms);
}

void to_json(json& j, const BenchRow& row) {
    const AttentionProblem& p = row.problem;
    j = p;
    j["dtype"] = torch_dtype_name(p.dtype);
    j["impl"] = row.impl;
    j["us_graph"] = row.us_graph;
    j["us_eager"] = row.us_eager;
    j["tflops"] = row.us_graph > 0 ? p.flops() / row.us_graph / 1e6 : 0.0;
    j["max_abs_err"] = row.max_abs_err ? json(*row.max_abs_err) : json(nullptr);
    j["device"] = row.device;
    j["variant"] = row.variant;
    j["selection"] = row.selection;
    j["reference"] = row.reference;
}

void from_json(const json& j, BenchRow& row) {
    row = BenchRow{};
    json problem = j;
    problem.erase("dtype");
    problem.get_to(row.problem);
    row.problem.dtype = parse_dtype(j.at("dtype").get<std::string>());
    take(j, "impl", row.impl);
    take(j, "us_graph", row.us_graph);
    take(j, "us_eager", row.us_eager);
    if (j.contains("max_abs_err") && !j["max_abs_err"].is_null()) row.max_abs_err = j["max_abs_err"].get<double>();
    take(j, "device", row.device);
    take(j, "variant", row.variant);
    take(j, "selection", row.selection);
    take(j, "reference", row.reference);
}

void to_json(json& j, const BisectStep& s) {
    j = s.result;
    j["step"] = s.index;
    j["phase"] = to_string(s.phase);
    j["variant"] = s.variant;
    j["fields"] = s.fields;
    j["changes"] = s.changes;
    j["probed"] = s.probed;
    if (s.reused) j["reused"] = true;
}

void to_json(json& j, const Culprit& c) {
    j = {{"fields", c.fields},         {"changes", c.changes}, {"variant", c.variant},
         {"verdict", c.result.verdict}, {"message", c.result.message},
         {"step", c.step},             {"smallest", c.smallest}, {"minimal", c.minimal}};
    put(j, "max_abs_err", c.result.max_abs_err);
    if (c.stage.attempted)
        j["stage"] = {{"first_wrong", c.stage.first_wrong}, {"detail", c.stage.detail}, {"steps", c.stage.steps}};
}

void to_json(json& j, const BisectReport& r) {
    j = {{"status", to_string(r.status)}, {"good", r.good},           {"bad", r.bad},
         {"differences", r.differences},  {"probes", r.probes},       {"max_probes", r.max_probes},
         {"skipped_invalid", r.skipped_invalid}, {"summary", r.summary}, {"culprits", r.culprits},
         {"steps", r.steps}};
}

void to_json(json& j, const DevicesReport& r) {
    j = {{"devices", r.devices}, {"nvrtc", r.nvrtc}, {"cuda_include", r.cuda_include}};
    if (!r.reason.empty()) j["reason"] = r.reason;
    if (r.driver_version) j["driver_version"] = r.driver_version;
}

void from_json(const json& j, DevicesReport& r) {
    r = DevicesReport{};
    take(j, "devices", r.devices);
    take(j, "nvrtc", r.nvrtc);
    take(j, "cuda_include", r.cuda_include);
    take(j, "driver_version", r.driver_version);
    take(j, "reason", r.reason);
    for (auto& d : r.devices) d.driver_version = r.driver_version;
}

}  // namespace flashcore
