#include "flashcore/selection/tune_store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>

#include "core/logging.hpp"
#include "flashcore/error.hpp"
#include "flashcore/problem_names.hpp"
#include "flashcore/runtime.hpp"
#include "selection/json_codec.hpp"

namespace flashcore {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {
std::int64_t next_pow2(std::int64_t x) {
    std::int64_t p = 1;
    while (p < x) p <<= 1;
    return p;
}
}  // namespace

std::string problem_bucket(const AttentionProblem& p) {
    auto length = [](int n) { return n == 1 ? 1 : std::max<std::int64_t>(16, next_pow2(n)); };
    return "d" + std::to_string(p.D) + "-sq" + std::to_string(length(p.Sq)) + "-skv" + std::to_string(length(p.Skv)) +
           "-bh" + std::to_string(next_pow2(std::int64_t(p.B) * p.Hq)) + (p.Hq == p.Hkv ? "-mha" : "-gqa");
}

std::string TuneKey::file_path(const std::string& root) const {
    return root + "/" + template_id + "/" + arch + "/nvrtc-" + nvrtc + "/" + template_digest.substr(0, 16) + "/" + bucket +
           "." + dtype + "." + mask + ".jsonl";
}

TuneStore::TuneStore(std::string cache_dir) : root_(std::move(cache_dir) + "/v1/tune") {}

std::vector<TuneRecord> TuneStore::load(const TuneKey& key) const {
    std::vector<TuneRecord> out;
    std::ifstream in(key.file_path(root_));
    if (!in) return out;
    std::map<std::string, size_t> index;
    std::string line;
    size_t number = 0, damaged = 0;
    while (std::getline(in, line)) {
        ++number;
        if (line.empty()) continue;
        try {
            json j = json::parse(line);
            TuneKey written = j.get<TuneKey>();
            if (written.template_digest != key.template_digest || written.bucket != key.bucket ||
                written.arch != key.arch || written.nvrtc != key.nvrtc)
                throw std::runtime_error("record for another key");
            TuneRecord r = j.get<TuneRecord>();
            auto it = index.find(r.variant);
            if (it == index.end()) {
                index.emplace(r.variant, out.size());
                out.push_back(std::move(r));
            } else {
                out[it->second] = std::move(r);  // a re-timing replaces the older record
            }
        } catch (const std::exception&) {  // a torn or foreign line: count it, keep the rest
            ++damaged;
        }
    }
    if (damaged)
        detail::log().warn("tuning records {}: skipped {} damaged line(s) of {}", key.file_path(root_), damaged, number);
    return out;
}

bool TuneStore::append(const TuneKey& key, const TuneRecord& record) const {
    const std::string path = key.file_path(root_);
    std::error_code ec;
    fs::create_directories(fs::path(path).parent_path(), ec);
    json line = key;
    line.update(json(record));
    const std::string text = line.dump() + "\n";
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    bool ok = fd >= 0 && ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    int err = errno;
    if (fd >= 0) ::close(fd);
    if (!ok) detail::log().warn("cannot append a tuning record to {}: {}", path, std::strerror(err));
    return ok;
}

std::optional<TuneRecord> TuneStore::best(const TuneKey& key) const {
    std::optional<TuneRecord> best;
    for (auto& r : load(key))
        if (r.verdict == Verdict::ok && r.us_median > 0 && (!best || r.us_median < best->us_median)) best = r;
    return best;
}

std::optional<TuneKey> try_tune_key(Runtime& runtime, const std::string& template_id, const AttentionProblem& problem,
                                    const Target& target, std::string* why) {
    auto schema = runtime.templates().find(template_id);
    if (!schema) {
        if (why) *why = "unknown template '" + template_id + "'";
        return std::nullopt;
    }
    // Any variant renders the same template text and includes; bind it to the problem so
    // bound fields (head_dim...) take legal values.
    auto any = Variant::try_resolve(VariantRequest{template_id, {}}, schema, problem_names(problem), why);
    if (!any) return std::nullopt;
    Target exact = target_for(*schema, target);
    KeyComponents c = runtime.cache().key_components(*any, {}, exact);
    TuneKey key;
    key.template_id = template_id;
    key.template_digest = c.content_digest;
    key.bucket = problem_bucket(problem);
    key.dtype = to_string(problem.dtype);
    key.mask = problem.causal ? "causal" : "full";
    key.arch = exact.to_string();
    key.nvrtc = c.nvrtc_version;
    return key;
}

TuneKey tune_key(Runtime& runtime, const std::string& template_id, const AttentionProblem& problem, const Target& target) {
    std::string why;
    ErrorCode code = ErrorCode::bad_problem;
    if (runtime.templates().find(template_id) == nullptr) runtime.templates().schema(template_id);  // throws, listing ids
    if (auto key = try_tune_key(runtime, template_id, problem, target, &why)) return *key;
    fail(Stage::validate, code, why);
}

}  // namespace flashcore
