#include "flashcore/tuning.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "child_process.hpp"
#include "flashcore/driver.hpp"
#include "flashcore/error.hpp"
#include "flashcore/launch.hpp"
#include "flashcore/runtime.hpp"
#include "logging.hpp"

namespace flashcore {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::int64_t next_pow2(std::int64_t x) {
    std::int64_t p = 1;
    while (p < x) p <<= 1;
    return p;
}

std::int64_t now_unix_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

json record_json(const TuneKey& key, const TuneRecord& r) {
    return {{"template", key.template_id}, {"template_digest", key.template_digest},
            {"bucket", key.bucket},        {"dtype", key.dtype},
            {"mask", key.mask},            {"arch", key.arch},
            {"nvrtc", key.nvrtc},          {"variant", r.variant},
            {"verdict", to_string(r.verdict)}, {"us_median", r.us_median},
            {"us_min", r.us_min},          {"us_max", r.us_max},
            {"spread", r.spread()},        {"max_abs_err", r.max_abs_err},
            {"problem", r.problem},        {"message", r.message},
            {"device", r.device},          {"measured_unix_ms", r.measured_unix_ms}};
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
            if (j.at("template_digest") != key.template_digest || j.at("bucket") != key.bucket ||
                j.at("arch") != key.arch || j.at("nvrtc") != key.nvrtc)
                throw std::runtime_error("record for another key");
            TuneRecord r;
            r.variant = j.at("variant");
            r.verdict = parse_verdict(j.at("verdict"));
            r.us_median = j.at("us_median");
            r.us_min = j.value("us_min", r.us_median);
            r.us_max = j.value("us_max", r.us_median);
            r.max_abs_err = j.value("max_abs_err", -1.0);
            r.problem = j.value("problem", "");
            r.message = j.value("message", "");
            r.device = j.value("device", "");
            r.measured_unix_ms = j.value("measured_unix_ms", std::int64_t{0});
            auto it = index.find(r.variant);
            if (it == index.end()) {
                index.emplace(r.variant, out.size());
                out.push_back(std::move(r));
            } else {
                out[it->second] = std::move(r);  // a re-timing replaces the older record
            }
        } catch (const std::exception&) {
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
    std::string line = record_json(key, record).dump() + "\n";
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    bool ok = fd >= 0 && ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
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

TuneKey tune_key(Runtime& runtime, const std::string& template_id, const AttentionProblem& problem, const Target& target) {
    auto schema = runtime.templates().schema(template_id);
    // Any variant renders the same template text and includes; bind it to the problem so
    // bound fields (head_dim...) take legal values.
    Variant any = Variant::resolve(VariantRequest{template_id, {}}, schema, problem_names(problem));
    Target exact = target_for(*schema, target);
    KeyComponents c = runtime.cache().key_components(any, {}, exact);
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

ProcessBatchProber::ProcessBatchProber(std::string executable) : executable_(std::move(executable)) {}

void ProcessBatchProber::run(const std::vector<std::string>& variants, const ProbeRequest& base,
                             const std::function<void(const std::string&, const ProbeResult&)>& on_result) {
    size_t next = 0;
    while (next < variants.size()) {
        ProbeRequest request = base;
        request.variant = variants[next];
        std::vector<std::string> argv = request.wrapper;
        argv.push_back(executable_);
        std::vector<std::string> args = probe_arguments(request);
        // probe_arguments puts the one variant at [1]; give the child every remaining one.
        args.erase(args.begin() + 1);
        args.insert(args.begin() + 1, variants.begin() + static_cast<long>(next), variants.end());
        argv.insert(argv.end(), args.begin(), args.end());

        size_t first = next;
        Verdict last = Verdict::ok;
        detail::ChildOutcome child = detail::run_child(argv, request.env, request.timeout, [&](const std::string& line) {
            if (line.empty() || line[0] != '{' || next >= variants.size()) return;
            ProbeResult result;
            if (!parse_probe_output(line, result)) return;
            result.output = line;
            last = result.verdict;
            on_result(variants[next++], result);
        });
        if (next == variants.size()) break;
        if (next > first && last == Verdict::launch_fault) continue;  // the child stopped after a fault
        // The variant in flight hung or took the child down with it.
        ProbeResult lost;
        lost.exit_code = child.exit_code;
        lost.signal = child.signal;
        lost.wall_ms = child.wall_ms;
        lost.output = child.stderr_tail;
        if (child.spawn_failed) {
            lost.verdict = Verdict::launch_fault;
            lost.message = "cannot start the probe: " + child.stderr_tail;
        } else if (child.timed_out) {
            lost.verdict = Verdict::timeout;
            lost.message = "no answer within " + std::to_string(request.timeout.count()) + " ms; the probe was killed";
        } else {
            lost.verdict = Verdict::launch_fault;
            lost.message = child.signal ? "the probe died with signal " + std::to_string(child.signal)
                                        : "the probe exited with code " + std::to_string(child.exit_code) +
                                              " without a verdict";
        }
        on_result(variants[next++], lost);
    }
}

std::vector<std::string> tune_candidates(Runtime& runtime, const TuneOptions& options, const AttentionProblem& problem,
                                         const DeviceInfo& device, std::size_t* rejected) {
    auto schema = runtime.templates().schema(options.template_id);
    std::string pattern = options.pattern;
    if (pattern.empty()) {
        pattern = options.template_id;
        std::string fields;
        for (const auto& p : schema->params)
            if (!p.hidden && p.bind.empty() && p.values.size() > 1) fields += (fields.empty() ? "" : ",") + p.name + "=*";
        if (!fields.empty()) pattern += ":" + fields;
    }
    NameLookup names = problem_names(problem, &device);
    size_t invalid = 0;
    std::vector<Variant> variants = expand_variant_pattern(pattern, runtime.templates(), &invalid, names);
    std::vector<std::string> out;
    for (const auto& v : variants) {
        NameLookup all = v.names(names);
        bool fits = v.schema().min_sm <= device.sm;
        for (const auto& check : v.schema().problem_checks) fits = fits && check.expr.evaluate_int(all) != 0;
        if (fits) {
            LaunchDims dims = derive_launch(v, names);
            fits = dims.dynamic_smem <= static_cast<std::size_t>(device.smem_per_block_optin);
        }
        if (!fits) {
            ++invalid;
            continue;
        }
        out.push_back(v.to_string());
        if (options.max_candidates && out.size() >= options.max_candidates) break;
    }
    if (rejected) *rejected = invalid;
    return out;
}

TuneReport tune(Runtime& runtime, const AttentionProblem& problem, const DeviceInfo& device, const TuneOptions& options,
                BatchProber& prober, const std::function<void(const TuneRecord&, std::size_t, std::size_t)>& progress) {
    problem.validate();
    Target target;
    target.sm = device.sm;
    TuneReport report;
    report.key = tune_key(runtime, options.template_id, problem, target);
    TuneStore store(runtime.config().cache_dir);
    report.record_file = report.key.file_path(store.root());

    std::map<std::string, TuneRecord> known;
    if (!options.retune)
        for (auto& r : store.load(report.key)) known.emplace(r.variant, r);
    std::vector<std::string> candidates = tune_candidates(runtime, options, problem, device, &report.rejected);
    std::vector<std::string> to_time;
    for (const auto& c : candidates) {
        auto it = known.find(c);
        if (it != known.end()) {
            report.records.push_back(it->second);
            ++report.reused;
        } else {
            to_time.push_back(c);
        }
    }
    const std::size_t total = candidates.size();
    std::size_t done = report.reused;
    std::mutex mutex;
    auto finish = [&](TuneRecord record) {
        record.problem = problem.to_string();
        record.device = device.name;
        record.measured_unix_ms = now_unix_ms();
        store.append(report.key, record);
        std::lock_guard<std::mutex> lock(mutex);
        report.records.push_back(record);
        ++report.timed;
        if (progress) progress(record, ++done, total);
    };

    // Compile here, in parallel (compile-only: no GPU in this process); the probes then load
    // the cubins from the disk cache.
    Target exact_target = target;
    std::vector<std::string> compiled;
    std::vector<char> ok(to_time.size(), 0);
    std::atomic<size_t> cursor{0};
    auto worker = [&] {
        for (size_t i = cursor++; i < to_time.size(); i = cursor++) {
            try {
                Variant v = runtime.variant(to_time[i], &problem);
                runtime.build(v, exact_target, options.compile);
                ok[i] = 1;
            } catch (const Error& e) {
                TuneRecord r;
                r.variant = to_time[i];
                r.verdict = verdict_for(e);
                r.message = e.what();
                finish(r);
            }
        }
    };
    std::vector<std::thread> pool;
    unsigned threads = std::max(1u, std::min(16u, std::thread::hardware_concurrency()));
    for (unsigned t = 1; t < threads && t < to_time.size(); ++t) pool.emplace_back(worker);
    worker();
    for (auto& t : pool) t.join();
    for (size_t i = 0; i < to_time.size(); ++i)
        if (ok[i]) compiled.push_back(to_time[i]);

    ProbeRequest base;
    base.problem = problem;
    base.seed = options.seed;
    base.verify = true;
    base.time = true;
    base.timeout = options.timeout;
    base.extra_args = options.probe_args;
    base.env = options.probe_env;
    base.env["FLASHCORE_CACHE_DIR"] = runtime.config().cache_dir;
    if (!compiled.empty())
        prober.run(compiled, base, [&](const std::string& variant, const ProbeResult& result) {
            TuneRecord r;
            r.variant = variant;
            r.verdict = result.verdict;
            r.us_median = result.us_graph;
            r.us_min = result.us_graph_min >= 0 ? result.us_graph_min : result.us_graph;
            r.us_max = result.us_graph_max >= 0 ? result.us_graph_max : result.us_graph;
            r.max_abs_err = result.max_abs_err;
            r.message = result.message;
            if (r.verdict == Verdict::ok && r.us_median <= 0) {
                r.verdict = Verdict::launch_fault;
                r.message = "the probe reported no timing";
            }
            finish(r);
        });
    for (const auto& r : report.records)
        if (r.verdict == Verdict::ok && r.us_median > 0 && (!report.best || r.us_median < report.best->us_median))
            report.best = r;
    return report;
}

DeviceInfo query_device_in_child(const std::string& executable, int ordinal) {
    detail::ChildOutcome child = detail::run_child({executable, "devices", "--json"}, {}, std::chrono::seconds(60));
    json doc;
    try {
        std::string text = child.stdout_tail;
        doc = json::parse(text.substr(text.find('{')));
    } catch (const std::exception&) {
        fail(Stage::driver, ErrorCode::no_device,
             "cannot read the device list from `" + executable + " devices --json`: " + child.stderr_tail);
    }
    for (const auto& d : doc.value("devices", json::array())) {
        if (d.value("ordinal", -1) != ordinal) continue;
        DeviceInfo info;
        info.ordinal = ordinal;
        info.name = d.value("name", "");
        info.sm = Target::parse(d.value("arch", "sm_0")).sm;
        info.num_sms = d.value("sms", 0);
        info.smem_per_block_optin = d.value("smem_optin_bytes", 0);
        info.l2_bytes = d.value("l2_bytes", 0);
        info.total_memory = d.value("memory_bytes", std::size_t{0});
        return info;
    }
    fail(Stage::driver, doc.contains("reason") ? ErrorCode::no_driver : ErrorCode::no_device,
         doc.contains("reason") ? doc["reason"].get<std::string>()
                                : "GPU " + std::to_string(ordinal) + " not found by `flashcore devices`");
}

}  // namespace flashcore
