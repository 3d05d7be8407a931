#include "selection/json_codec.hpp"

namespace flashcore {

using json = nlohmann::json;

void to_json(json& j, const Verdict& verdict) { j = to_string(verdict); }
void from_json(const json& j, Verdict& verdict) { verdict = parse_verdict(j.get<std::string>()); }

void to_json(json& j, const TuneKey& k) {
    j = {{"template", k.template_id}, {"template_digest", k.template_digest}, {"bucket", k.bucket}, {"dtype", k.dtype},
         {"mask", k.mask},            {"arch", k.arch},                      {"nvrtc", k.nvrtc}};
}

void from_json(const json& j, TuneKey& k) {
    k.template_id = j.value("template", "");
    j.at("template_digest").get_to(k.template_digest);
    j.at("bucket").get_to(k.bucket);
    k.dtype = j.value("dtype", "");
    k.mask = j.value("mask", "");
    j.at("arch").get_to(k.arch);
    j.at("nvrtc").get_to(k.nvrtc);
}

namespace {
// null where a record has no value (no timing, no error check, no error); records written
// before used -1 and "message", and both still read.
json number_or_null(double value) { return value >= 0 ? json(value) : json(nullptr); }
double number_or(const json& j, const char* key, double fallback) {
    return j.contains(key) && j[key].is_number() ? j[key].get<double>() : fallback;
}
std::string text_or_empty(const json& j, const char* key) {
    return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}
}  // namespace

void to_json(json& j, const TuneRecord& r) {
    const bool timed = r.us_median > 0;
    j = {{"variant", r.variant},
         {"verdict", r.verdict},
         {"us_median", timed ? json(r.us_median) : json(nullptr)},
         {"us_min", timed ? json(r.us_min) : json(nullptr)},
         {"us_max", timed ? json(r.us_max) : json(nullptr)},
         {"spread", timed ? json(r.spread()) : json(nullptr)},
         {"max_abs_err", number_or_null(r.max_abs_err)},
         {"problem", r.problem},
         {"error", r.message.empty() ? json(nullptr) : json(r.message)},
         {"device", r.device},
         {"measured_unix_ms", r.measured_unix_ms}};
}

void from_json(const json& j, TuneRecord& r) {
    r = TuneRecord{};
    j.at("variant").get_to(r.variant);
    j.at("verdict").get_to(r.verdict);
    if (!j.contains("us_median")) j.at("us_median");  // throws: a record without it is not one
    r.us_median = number_or(j, "us_median", -1);
    r.us_min = number_or(j, "us_min", r.us_median);
    r.us_max = number_or(j, "us_max", r.us_median);
    r.max_abs_err = number_or(j, "max_abs_err", -1.0);
    r.problem = text_or_empty(j, "problem");
    r.message = j.contains("error") ? text_or_empty(j, "error") : text_or_empty(j, "message");
    r.device = j.value("device", "");
    r.measured_unix_ms = j.value("measured_unix_ms", std::int64_t{0});
}

}  // namespace flashcore
