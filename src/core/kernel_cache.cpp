#include "flashcore/kernel_cache.hpp"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/cache_counters.hpp"
#include "core/enum_names.hpp"
#include "core/json_codec.hpp"
#include "core/logging.hpp"
#include "core/remote_cache.hpp"
#include "flashcore/hash.hpp"
#include "flashcore/render.hpp"

namespace flashcore {

namespace {
const detail::EnumName<CacheSource> kSources[] = {{CacheSource::memory, "memory"},
                                                  {CacheSource::disk, "disk"},
                                                  {CacheSource::remote, "remote"},
                                                  {CacheSource::compiled, "compiled"}};
}  // namespace

const char* to_string(CacheSource source) { return detail::name_of(source, kSources, "unknown"); }

CacheCounters CacheStats::snapshot() const {
    CacheCounters c;
    c.memory_hits = memory_hits;
    c.disk_hits = disk_hits;
    c.prebuilt_hits = prebuilt_hits;
    c.remote_hits = remote_hits;
    c.misses = misses;
    c.compiles = compiles;
    c.compile_ms = compile_us / 1000.0;
    c.remote_stores = remote_stores;
    c.remote_rejected = remote_rejected;
    c.remote_errors = remote_errors;
    c.lock_waits = lock_waits;
    c.lock_timeouts = lock_timeouts;
    return c;
}

CacheCounters& CacheCounters::operator+=(const CacheCounters& o) {
    memory_hits += o.memory_hits;
    disk_hits += o.disk_hits;
    prebuilt_hits += o.prebuilt_hits;
    remote_hits += o.remote_hits;
    misses += o.misses;
    compiles += o.compiles;
    compile_ms += o.compile_ms;
    remote_stores += o.remote_stores;
    remote_rejected += o.remote_rejected;
    remote_errors += o.remote_errors;
    lock_waits += o.lock_waits;
    lock_timeouts += o.lock_timeouts;
    return *this;
}

KernelCache::KernelCache(const Config& config, const TemplateRegistry& templates, Toolkit toolkit)
    : templates_(templates),
      toolkit_(std::move(toolkit)),
      disk_(config.cache_dir, config.cache_max_bytes),
      jit_(config.jit),
      lock_timeout_(config.lock_timeout) {
    for (const auto& dir : config.cache_paths)
        prebuilt_.push_back(std::make_unique<DiskCache>(dir, config.cache_max_bytes, DiskCache::Mode::read_only));
    if (!config.remote_cache.empty()) remote_ = std::make_unique<RemoteCache>(config.remote_cache, stats_);
}

KernelCache::~KernelCache() {
    // Best effort, never throws: a host's counters join the folder's for `cache stats`.
    try {
        detail::add_counters(disk_, stats_.snapshot());
    } catch (...) {
    }
}

void KernelCache::load_recorded_toolkits() {
    // NVRTC is missing here: the keys are those of the toolkits that built the cache's entries.
    std::vector<ToolkitFacts> groups;
    auto absorb = [&](const DiskCache& tier) {
        for (const auto& [name, text] : tier.side_files("toolkits")) {
            ToolkitFacts facts;
            try {
                facts = nlohmann::json::parse(text).get<ToolkitFacts>();
            } catch (const std::exception&) {
                continue;
            }
            // One candidate per NVRTC version while the header digests agree.
            auto merged = std::find_if(groups.begin(), groups.end(), [&](const ToolkitFacts& g) {
                if (g.nvrtc_version != facts.nvrtc_version) return false;
                for (const auto& [header, digest] : facts.header_digests) {
                    auto it = g.header_digests.find(header);
                    if (it != g.header_digests.end() && it->second != digest) return false;
                }
                return true;
            });
            if (merged == groups.end()) groups.push_back(facts);
            else merged->header_digests.insert(facts.header_digests.begin(), facts.header_digests.end());
        }
    };
    absorb(disk_);
    for (const auto& tier : prebuilt_) absorb(*tier);
    std::sort(groups.begin(), groups.end(),
              [](const ToolkitFacts& a, const ToolkitFacts& b) { return a.nvrtc_version > b.nvrtc_version; });
    for (const auto& facts : groups) recorded_.push_back(std::make_unique<Toolkit>(Toolkit::recorded(facts, toolkit_.unavailable_reason())));
    if (recorded_.empty())
        detail::log().warn("{}; and the cache folders record no toolkit, so no cached kernel can be found",
                           toolkit_.unavailable_reason());
    else
        detail::log().info("{}; keys computed for the {} toolkit(s) the cache recorded", toolkit_.unavailable_reason(),
                           recorded_.size());
}

std::vector<const Toolkit*> KernelCache::key_toolkits() {
    if (toolkit_.compiler_available()) return {&toolkit_};
    std::call_once(recorded_once_, [this] { load_recorded_toolkits(); });
    std::vector<const Toolkit*> out;
    for (const auto& t : recorded_) out.push_back(t.get());
    if (out.empty()) out.push_back(&toolkit_);
    return out;
}

const Toolkit& KernelCache::toolkit() const {
    if (toolkit_.compiler_available()) return toolkit_;
    auto& self = const_cast<KernelCache&>(*this);
    return *self.key_toolkits().front();
}

bool KernelCache::has_entry(const std::string& key) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (by_key_.count(key)) return true;
    }
    namespace fs = std::filesystem;
    std::error_code ec;
    auto on = [&](const DiskCache& tier) {
        return tier.enabled() && fs::exists(tier.root() + "/" + key.substr(0, 2) + "/" + key + "/entry.json", ec);
    };
    if (on(disk_)) return true;
    for (const auto& tier : prebuilt_)
        if (on(*tier)) return true;
    return remote_ && remote_->exists(key);
}

KeyComponents KernelCache::key_components(const Variant& variant, const CompileOptions& options,
                                          const Target& target) const {
    return flashcore::key_components(variant, options, target, render(variant, templates_), toolkit());
}

std::string KernelCache::request_key(const Variant& variant, const CompileOptions& options, const Target& target) {
    return variant.to_string() + "|" + options.canonical() + "|" + target.to_string();
}

std::shared_ptr<const CacheEntry> KernelCache::find_request(const std::string& request) {
    std::shared_ptr<const CacheEntry> found;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        auto it = by_request_.find(request);
        if (it != by_request_.end()) found = it->second;
    }
    if (found) ++stats_.memory_hits;
    return found;
}

void KernelCache::remember_request(const std::string& request, std::shared_ptr<const CacheEntry> entry) {
    std::lock_guard<std::mutex> lock(mutex_);
    by_request_.emplace(request, std::move(entry));
}

std::shared_ptr<const CacheEntry> KernelCache::single_flight(const std::string& key, const Fill& fill,
                                                             CacheSource& source) {
    std::promise<std::shared_ptr<const CacheEntry>> promise;
    Slot slot;
    bool owner = false;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        auto it = by_key_.find(key);
        if (it != by_key_.end()) {
            slot = it->second;
        } else {
            slot = promise.get_future().share();
            by_key_.emplace(key, slot);
            owner = true;
        }
    }
    if (!owner) {
        source = CacheSource::memory;
        ++stats_.memory_hits;
        return slot.get();  // waits only if this very key is being filled; rethrows its error
    }
    try {
        std::shared_ptr<const CacheEntry> entry = fill(source);
        promise.set_value(entry);
        return entry;
    } catch (...) {
        promise.set_exception(std::current_exception());
        std::lock_guard<std::mutex> lock(mutex_);
        by_key_.erase(key);
        throw;
    }
}

std::optional<CacheEntry> KernelCache::find_on_disk(const std::string& key) {
    if (jit_ == JitMode::always) return std::nullopt;
    if (auto entry = disk_.load(key)) {
        ++stats_.disk_hits;
        return entry;
    }
    for (const auto& tier : prebuilt_)
        if (auto entry = tier->load(key)) {
            ++stats_.prebuilt_hits;
            return entry;
        }
    return std::nullopt;
}

std::string KernelCache::explain_miss(const KeyComponents& wanted) {
    ++stats_.misses;
    if (jit_ == JitMode::always) return "FLASHCORE_JIT=always";
    std::string why = disk_.explain_miss(wanted);
    for (const auto& tier : prebuilt_)
        if (why.empty()) why = tier->explain_miss(wanted);
    if (why.empty()) why = "no cached entry of template " + wanted.template_id + " matches";
    if (!toolkit_.compiler_available()) why += "; " + toolkit_.unavailable_reason();
    return why;
}

DiskCache::KeyLock KernelCache::lock(const std::string& key) {
    auto start = std::chrono::steady_clock::now();
    DiskCache::KeyLock held = disk_.lock(key, lock_timeout_);
    auto waited = std::chrono::steady_clock::now() - start;
    if (waited > std::chrono::milliseconds(20)) ++stats_.lock_waits;
    if (!held.held() && disk_.writable() && waited >= lock_timeout_) ++stats_.lock_timeouts;
    return held;
}

std::optional<CacheEntry> KernelCache::find_remote(const KeyComponents& wanted) {
    if (!remote_ || jit_ == JitMode::always) return std::nullopt;
    auto entry = remote_->get(wanted);
    if (!entry) return std::nullopt;
    ++stats_.remote_hits;
    disk_.store(*entry);  // the next process on this host finds it locally
    return entry;
}

struct KernelCache::FleetLock {
    RemoteCache* remote = nullptr;
    std::string key;
    std::string token;
    ~FleetLock() {
        if (remote && !token.empty()) remote->unlock(key, token);
    }
};

std::optional<CacheEntry> KernelCache::fleet_single_flight(const KeyComponents& wanted, std::shared_ptr<FleetLock>& held) {
    if (!remote_) return std::nullopt;
    const std::string key = wanted.key();
    const auto deadline = std::chrono::steady_clock::now() + lock_timeout_;
    bool waited = false;
    for (;;) {
        bool down = false;
        std::string token = remote_->try_lock(key, &down);
        if (down) return std::nullopt;  // no fleet coordination while the tier is away
        if (!token.empty()) {
            held = std::make_shared<FleetLock>();
            held->remote = remote_.get();
            held->key = key;
            held->token = token;
            // The holder before us may have stored it just before letting go.
            if (auto entry = find_remote(wanted)) return entry;
            return std::nullopt;
        }
        if (!waited) ++stats_.lock_waits, waited = true;
        // Another host compiles it: its entry appears, or its lock goes (done, dead or expired).
        while (remote_->locked(key)) {
            if (std::chrono::steady_clock::now() >= deadline) {
                ++stats_.lock_timeouts;
                detail::log().warn("waited {} ms (FLASHCORE_CACHE_LOCK_TIMEOUT) for another host compiling cache key "
                                   "{}; compiling here without the fleet lock",
                                   lock_timeout_.count(), key);
                return std::nullopt;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        if (auto entry = find_remote(wanted)) return entry;
    }
}

void KernelCache::store_compiled(const CacheEntry& entry, const std::vector<std::string>& system_headers) {
    ++stats_.compiles;
    stats_.compile_us += static_cast<std::uint64_t>(entry.compiled.compile_ms * 1000);
    disk_.store(entry);
    if (remote_ && remote_->put(entry)) ++stats_.remote_stores;
    // What a host without NVRTC needs to compute this key: the NVRTC version and the digests
    // of the toolkit headers it includes (named by their content: written once).
    if (!toolkit_.compiler_available() || !disk_.writable()) return;
    const std::string text = nlohmann::json(toolkit_.facts(system_headers)).dump() + "\n";
    const std::string name = "toolkits/" + hex64(xxh3_64(text)) + ".json";
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!facts_written_.insert(name).second) return;
    }
    disk_.store_side_file(name, text);
}

}  // namespace flashcore
