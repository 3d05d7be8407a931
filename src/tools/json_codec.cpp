#include "tools/json_codec.hpp"

#include "flashcore/error.hpp"

namespace flashcore {

using json = nlohmann::json;

namespace {

// Optional fields of a verdict hold a value when strings are non-empty, numbers >= 0 (-1 means
// none), a signal or seed other than 0; otherwise they are written as null (every verdict line
// has the same keys).
bool holds_value(const char*, const std::string& value) { return !value.empty(); }
bool holds_value(const char*, double value) { return value >= 0; }
bool holds_value(const char*, long long value) { return value >= 0; }
bool holds_value(const char* name, int value) { return std::string(name) == "signal" ? value != 0 : value >= 0; }
bool holds_value(const char*, std::uint64_t value) { return value != 0; }
// Read only when present (and not null).
template <class T>
void take(const json& j, const char* name, T& value) {
    if (j.contains(name) && !j[name].is_null()) j[name].get_to(value);
}

// Each document's fields are listed once, visited by both directions of its codec.
template <class Request, class Visit>
void request_fields(Request& r, Visit&& visit) {
    visit("seed", r.seed);
    visit("verify", r.verify);
    visit("time", r.time);
    visit("dump", r.dump_path);
    visit("compile", r.compile);
    visit("device", r.device);
}

template <class Result, class Visit>
void result_fields(Result& r, Visit&& visit) {
    visit("error", r.message);  // why it is not ok (older children wrote "message")
    visit("seed", r.seed);
    visit("source", r.cache_source);
    visit("key", r.key);
    visit("max_abs_err", r.max_abs_err);
    visit("mean_abs_err", r.mean_abs_err);
    visit("non_finite", r.non_finite);
    visit("tolerance", r.tolerance);
    visit("reference", r.reference);
    visit("compared", r.compared);
    visit("us_graph", r.us_graph);
    visit("us_graph_min", r.us_graph_min);
    visit("us_graph_max", r.us_graph_max);
    visit("us_eager", r.us_eager);
    visit("error_code", r.error_code);
    visit("error_stage", r.error_stage);
    visit("log", r.log);
    visit("exit_code", r.exit_code);
    visit("signal", r.signal);
    visit("wall_ms", r.wall_ms);
}

}  // namespace

void to_json(json& j, const ProbeRequest& r) {
    j = {{"variants", json::array({r.variant})}, {"problem", r.problem}};
    request_fields(r, [&](const char* name, const auto& value) { j[name] = value; });
}

void from_json(const json& j, ProbeRequest& r) {
    r = ProbeRequest{};
    r.variant = probe_variants(j).front();
    j.at("problem").get_to(r.problem);
    request_fields(r, [&](const char* name, auto& value) { take(j, name, value); });
}

std::vector<std::string> probe_variants(const json& document) {
    std::vector<std::string> variants = document.at("variants").get<std::vector<std::string>>();
    if (variants.empty())
        fail(Stage::validate, ErrorCode::bad_input, "probe request: \"variants\" lists no variant to run");
    return variants;
}

void to_json(json& j, const ProbeResult& r) {
    j = {{"verdict", r.verdict}, {"variant", r.variant}};
    result_fields(r, [&](const char* name, const auto& value) {
        if (holds_value(name, value)) j[name] = value;
        else j[name] = nullptr;
    });
}

void from_json(const json& j, ProbeResult& r) {
    j.at("verdict").get_to(r.verdict);
    take(j, "variant", r.variant);
    take(j, "message", r.message);  // the names before "error" / "error_stage"
    take(j, "stage", r.error_stage);
    result_fields(r, [&](const char* name, auto& value) { take(j, name, value); });
}

void to_json(json& j, const BenchRow& row) {
    const AttentionProblem& p = row.problem;
    j = p;
    j["dtype"] = torch_dtype_name(p.dtype);
    // sdpa_anchor.py's keys; null where a row has no value (`bench --list`: nothing measured).
    auto text = [](const std::string& s) { return s.empty() ? json(nullptr) : json(s); };
    auto time = [](double us) { return us >= 0 ? json(us) : json(nullptr); };
    j["impl"] = row.impl;
    j["us_graph"] = time(row.us_graph);
    j["us_eager"] = time(row.us_eager);
    j["tflops"] = row.us_graph > 0 ? json(p.flops() / row.us_graph / 1e6) : json(nullptr);
    j["gbps"] = row.us_graph > 0 ? json(bench_bytes(p) / row.us_graph / 1e3) : json(nullptr);
    j["max_abs_err"] = row.max_abs_err ? json(*row.max_abs_err) : json(nullptr);
    j["device"] = text(row.device);
    j["variant"] = text(row.variant);
    j["selection"] = text(row.selection);
    j["reference"] = text(row.reference);
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
         {"verdict", c.result.verdict}, {"error", c.result.message.empty() ? json(nullptr) : json(c.result.message)},
         {"step", c.step},             {"smallest", c.smallest}, {"minimal", c.minimal}};
    j["max_abs_err"] = c.result.max_abs_err >= 0 ? json(c.result.max_abs_err) : json(nullptr);
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
    j["reason"] = r.reason.empty() ? json(nullptr) : json(r.reason);
    j["driver_version"] = r.driver_version ? json(r.driver_version) : json(nullptr);
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
