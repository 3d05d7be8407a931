// The cache tiers the pipeline consults: memory (per process), disk (disk_cache.hpp: the
// writable cache folder, then the read-only prebuilt folders of FLASHCORE_CACHE_PATH) and,
// when FLASHCORE_REMOTE_CACHE names one, a Redis tier shared by a fleet. A tier looks entries
// up and stores them; rendering and compiling are the pipeline's (Runtime::build,
// src/core/build.cpp). Thread-safe.
//
// Memory holds entries two ways: by key, with single flight (concurrent requests for one key
// produce it once; a hit never waits behind another key), and by request (variant | options |
// arch), so a repeated lookup skips rendering and hashing altogether.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "flashcore/cache_key.hpp"
#include "flashcore/compile.hpp"
#include "flashcore/config.hpp"
#include "flashcore/disk_cache.hpp"
#include "flashcore/template_registry.hpp"
#include "flashcore/variant.hpp"

namespace flashcore {

class RemoteCache;

enum class CacheSource { memory, disk, remote, compiled };
const char* to_string(CacheSource source);

// The counters of one process's cache, as plain numbers (a snapshot of CacheStats).
struct CacheCounters {
    std::uint64_t memory_hits = 0;
    std::uint64_t disk_hits = 0;       // the writable cache folder
    std::uint64_t prebuilt_hits = 0;   // FLASHCORE_CACHE_PATH folders
    std::uint64_t remote_hits = 0;     // the Redis tier
    std::uint64_t misses = 0;          // not found in any tier
    std::uint64_t compiles = 0;
    double compile_ms = 0;             // NVRTC time of those compiles
    std::uint64_t remote_stores = 0;
    std::uint64_t remote_rejected = 0;  // remote entries that failed verification
    std::uint64_t remote_errors = 0;    // remote calls that failed or timed out
    std::uint64_t lock_waits = 0;       // waits for another process's compile (disk or fleet lock)
    std::uint64_t lock_timeouts = 0;    // of those, given up after FLASHCORE_CACHE_LOCK_TIMEOUT
    CacheCounters& operator+=(const CacheCounters& other);
};

struct CacheStats {
    std::atomic<std::uint64_t> memory_hits{0};
    std::atomic<std::uint64_t> disk_hits{0};
    std::atomic<std::uint64_t> prebuilt_hits{0};
    std::atomic<std::uint64_t> remote_hits{0};
    std::atomic<std::uint64_t> misses{0};
    std::atomic<std::uint64_t> compiles{0};
    std::atomic<std::uint64_t> compile_us{0};
    std::atomic<std::uint64_t> remote_stores{0};
    std::atomic<std::uint64_t> remote_rejected{0};
    std::atomic<std::uint64_t> remote_errors{0};
    std::atomic<std::uint64_t> lock_waits{0};
    std::atomic<std::uint64_t> lock_timeouts{0};
    CacheCounters snapshot() const;
};

// Where a lookup found its entry, and how long it took (compile included).
struct CacheLookup {
    std::shared_ptr<const CacheEntry> entry;
    CacheSource source = CacheSource::compiled;
    double lookup_ms = 0;
};

class KernelCache {
public:
    KernelCache(const Config& config, const TemplateRegistry& templates, Toolkit toolkit);
    ~KernelCache();  // adds this process's counters to the cache folder's (counters.json)

    // The key components of a variant for a target: renders it and derives the key, exactly as
    // the pipeline does, without compiling (for tune keys and tests).
    KeyComponents key_components(const Variant& variant, const CompileOptions& options, const Target& target) const;

    // The toolkits a key may be computed for: this host's when it can compile, else the ones
    // the cache tiers recorded (newest NVRTC first). Never empty.
    std::vector<const Toolkit*> key_toolkits();
    // Whether any tier holds `key` (a cheap presence check, no verification).
    bool has_entry(const std::string& key);

    // ---- memory tier -------------------------------------------------------------------
    // "variant|options|arch": the by-request index (no rendering needed to build it).
    static std::string request_key(const Variant& variant, const CompileOptions& options, const Target& target);
    // The entry remembered for a request, or null. Counts a memory hit when found.
    std::shared_ptr<const CacheEntry> find_request(const std::string& request);
    void remember_request(const std::string& request, std::shared_ptr<const CacheEntry> entry);

    // The entry for `key` from memory, or else from `fill` (run by one caller per key while the
    // others wait for its result). A filled entry is kept; an error reaches every waiter and is
    // not kept, so a later call retries (e.g. after the template is fixed). `source` says
    // where the entry came from (memory for every caller but the filler).
    using Fill = std::function<std::shared_ptr<const CacheEntry>(CacheSource& source)>;
    std::shared_ptr<const CacheEntry> single_flight(const std::string& key, const Fill& fill, CacheSource& source);

    // ---- disk tiers --------------------------------------------------------------------
    // The entry in the cache folder or a prebuilt folder, or nullopt (never under
    // JitMode::always). Counts a disk or prebuilt hit.
    std::optional<CacheEntry> find_on_disk(const std::string& key);
    // Why `wanted` is in no tier, for the miss log and the forbid error. Counts a miss.
    std::string explain_miss(const KeyComponents& wanted);
    // A cross-process lock on `key` (waits up to the configured timeout; may be unheld).
    DiskCache::KeyLock lock(const std::string& key);

    // ---- remote tier -------------------------------------------------------------------
    bool has_remote() const { return remote_ != nullptr; }
    // The verified remote entry for `wanted` (copied into the cache folder), or nullopt.
    std::optional<CacheEntry> find_remote(const KeyComponents& wanted);
    // Waits (up to the lock timeout) while another host compiles `wanted`; returns its entry,
    // or nullopt when this host should compile. `held` receives the fleet lock when this host
    // got it (released by store_compiled or when the returned holder dies).
    struct FleetLock;
    std::optional<CacheEntry> fleet_single_flight(const KeyComponents& wanted, std::shared_ptr<FleetLock>& held);

    // Stores a fresh compile in the cache folder and the remote tier (best effort) and records
    // the toolkit's facts for `system_headers`. Counts a compile.
    void store_compiled(const CacheEntry& entry, const std::vector<std::string>& system_headers);

    const CacheStats& stats() const { return stats_; }
    CacheStats& mutable_stats() { return stats_; }
    DiskCache& disk() { return disk_; }
    const std::vector<std::unique_ptr<DiskCache>>& prebuilt() const { return prebuilt_; }
    RemoteCache* remote() { return remote_.get(); }
    // This host's toolkit, or when it cannot compile the newest recorded one.
    const Toolkit& toolkit() const;
    JitMode jit_mode() const { return jit_; }
    std::chrono::milliseconds lock_timeout() const { return lock_timeout_; }

private:
    void load_recorded_toolkits();

    const TemplateRegistry& templates_;
    Toolkit toolkit_;
    DiskCache disk_;
    std::vector<std::unique_ptr<DiskCache>> prebuilt_;
    std::unique_ptr<RemoteCache> remote_;
    JitMode jit_;
    std::chrono::milliseconds lock_timeout_;
    CacheStats stats_;

    std::mutex mutex_;
    using Slot = std::shared_future<std::shared_ptr<const CacheEntry>>;
    std::unordered_map<std::string, Slot> by_key_;
    std::unordered_map<std::string, std::shared_ptr<const CacheEntry>> by_request_;
    std::once_flag recorded_once_;
    std::vector<std::unique_ptr<Toolkit>> recorded_;
    std::set<std::string> facts_written_;
};

}  // namespace flashcore
