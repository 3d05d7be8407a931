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

void to_json(json& j, const TuneRecord& r) {
    j = {{"variant", r.variant},         {"verdict", r.verdict},         {"us_median", r.us_median},
         {"us_min", r.us_min},           {"us_max", r.us_max},           {"spread", r.spread()},
         {"max_abs_err", r.max_abs_err}, {"problem", r.problem},         {"message", r.message},
         {"device", r.device},           {"measured_unix_ms", r.measured_unix_ms}};
}

void from_json(const json& j, TuneRecord& r) {
    r = TuneRecord{};
    j.at("variant").get_to(r.variant);
    j.at("verdict").get_to(r.verdict);
    j.at("us_median").get_to(r.us_median);
    r.us_min = j.value("us_min", r.us_median);
    r.us_max = j.value("us_max", r.us_median);
    r.max_abs_err = j.value("max_abs_err", -1.0);
    r.problem = j.value("problem", "");
    r.message = j.value("message", "");
    r.device = j.value("device", "");
    r.measured_unix_ms = j.value("measured_unix_ms", std::int64_t{0});
}

}  // namespace flashcore
