// The compile cache as callers see it: variant + options + target -> compiled entry, through
// memory (per process, single-flight per key) -> disk -> NVRTC. Thread-safe: concurrent
// requests for one key compile once, and a hit never waits behind another key's compile.
#pragma once

#include <atomic>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

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

struct CacheLookup {
    std::shared_ptr<const CacheEntry> entry;
    CacheSource source = CacheSource::compiled;
    double lookup_ms = 0;  // wall time of this lookup, compile included
};

class KernelCache {
public:
    KernelCache(const Config& config, const TemplateRegistry& templates, Toolkit toolkit);

    // Throws Error(compile/...) for compile failures and promoted warnings, and
    // Error(cache, jit_forbidden) on a miss under JitMode::forbid.
    CacheLookup get(const Variant& variant, const CompileOptions& options, const Target& target);

    // The key components `get` would use (renders the source; no compile).
    KeyComponents key_components(const Variant& variant, const CompileOptions& options, const Target& target) const;

    const CacheStats& stats() const { return stats_; }
    DiskCache& disk() { return disk_; }
    const Toolkit& toolkit() const { return toolkit_; }
    JitMode jit_mode() const { return jit_; }

private:
    std::shared_ptr<const CacheEntry> load_or_compile(const Variant& variant, const CompileOptions& options,
                                                      const Target& target, const KeyComponents& components,
                                                      const Source& source, CacheSource& source_out);

    const TemplateRegistry& templates_;
    Toolkit toolkit_;
    DiskCache disk_;
    JitMode jit_;
    std::chrono::milliseconds lock_timeout_;
    CacheStats stats_;

    std::mutex mutex_;
    using Slot = std::shared_future<std::shared_ptr<const CacheEntry>>;
    std::unordered_map<std::string, Slot> memory_;  // by key
    // Finished entries by request (variant | options | arch), so a repeated lookup skips
    // rendering and hashing. Template files are therefore read once per process per variant.
    std::unordered_map<std::string, std::shared_ptr<const CacheEntry>> by_request_;
};

}  // namespace flashcore
