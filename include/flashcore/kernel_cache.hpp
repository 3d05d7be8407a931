// The cache tiers the pipeline consults: memory (per process) and disk (disk_cache.hpp). A
// tier looks entries up and stores them; rendering and compiling are the pipeline's
// (Runtime::build, src/core/build.cpp). Thread-safe.
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
#include <string>
#include <unordered_map>

#include "flashcore/cache_key.hpp"
#include "flashcore/compile.hpp"
#include "flashcore/config.hpp"
#include "flashcore/disk_cache.hpp"
#include "flashcore/template_registry.hpp"
#include "flashcore/variant.hpp"

namespace flashcore {

enum class CacheSource { memory, disk, compiled };
const char* to_string(CacheSource source);

struct CacheStats {
    std::atomic<std::uint64_t> memory_hits{0};
    std::atomic<std::uint64_t> disk_hits{0};
    std::atomic<std::uint64_t> misses{0};
    std::atomic<std::uint64_t> compiles{0};
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

    // The key components of a variant for a target: renders it and derives the key, exactly as
    // the pipeline does, without compiling (for tune keys and tests).
    KeyComponents key_components(const Variant& variant, const CompileOptions& options, const Target& target) const;

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

    // ---- disk tier ---------------------------------------------------------------------
    // The entry on disk, or nullopt (never under JitMode::always). Counts a disk hit.
    std::optional<CacheEntry> find_on_disk(const std::string& key);
    // Why `wanted` is not on disk, for the miss log and the forbid error. Counts a miss.
    std::string explain_miss(const KeyComponents& wanted);
    // A cross-process lock on `key` (waits up to the configured timeout; may be unheld).
    DiskCache::KeyLock lock(const std::string& key) { return disk_.lock(key, lock_timeout_); }
    // Stores a fresh compile (best effort: see DiskCache::store). Counts a compile.
    void store_compiled(const CacheEntry& entry);

    const CacheStats& stats() const { return stats_; }
    DiskCache& disk() { return disk_; }
    const Toolkit& toolkit() const { return toolkit_; }
    JitMode jit_mode() const { return jit_; }

private:
    const TemplateRegistry& templates_;
    Toolkit toolkit_;
    DiskCache disk_;
    JitMode jit_;
    std::chrono::milliseconds lock_timeout_;
    CacheStats stats_;

    std::mutex mutex_;
    using Slot = std::shared_future<std::shared_ptr<const CacheEntry>>;
    std::unordered_map<std::string, Slot> by_key_;
    std::unordered_map<std::string, std::shared_ptr<const CacheEntry>> by_request_;
};

}  // namespace flashcore
