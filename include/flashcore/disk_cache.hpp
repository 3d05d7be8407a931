// The on-disk cache tier: <dir>/v<N>/<2 hex>/<key>/{kernel.cubin, entry.json, last_use}.
// Writes are atomic (temp folder, fsync, rename); a per-key OFD lock lets N processes compile
// a key once; corrupt, truncated or foreign entries are quarantined and reported as a miss;
// a byte cap evicts least-recently-used entries by their explicit last_use stamps. An
// unwritable directory disables the tier (one warning), it never fails a lookup.
// Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "flashcore/cache_key.hpp"
#include "flashcore/compile.hpp"

namespace flashcore {

inline constexpr int kDiskLayoutVersion = 1;  // the "v1" folder

struct DiskEntrySummary {
    std::string key;
    std::string template_id;
    std::string variant;
    std::string arch;
    std::uint64_t bytes = 0;          // whole entry folder
    std::int64_t last_use_unix_ms = 0;
    std::string path;
};

struct VerifyReport {
    size_t checked = 0;
    std::vector<std::string> quarantined;  // keys
};

struct PruneReport {
    size_t removed = 0;
    std::uint64_t bytes_freed = 0;
    std::uint64_t bytes_left = 0;
};

class DiskCache {
public:
    DiskCache(std::string dir, std::uint64_t max_bytes);

    bool enabled() const { return enabled_; }
    const std::string& dir() const { return dir_; }    // as configured
    const std::string& root() const { return root_; }  // <dir>/v<N>
    std::uint64_t max_bytes() const { return max_bytes_; }
    const std::string& disabled_reason() const { return disabled_reason_; }

    // The entry for `key`, or nullopt on a miss. A damaged entry is quarantined (one warning)
    // and reported as a miss. Updates the entry's last_use stamp on a hit.
    std::optional<CacheEntry> load(const std::string& key);
    // Stores atomically; on failure (full or read-only disk) logs one warning and returns
    // false, leaving no partial entry behind. Enforces the byte cap afterwards.
    bool store(const CacheEntry& entry);

    // A cross-process lock on one key; released by the destructor or by the holder's death.
    class KeyLock {
    public:
        KeyLock() = default;
        KeyLock(KeyLock&& other) noexcept;
        KeyLock& operator=(KeyLock&& other) noexcept;
        ~KeyLock();
        bool held() const { return fd_ >= 0; }

    private:
        friend class DiskCache;
        int fd_ = -1;
    };
    // Waits up to `timeout` for the key's lock; returns an unheld lock when it times out or
    // the tier is disabled (callers then compile without it).
    KeyLock lock(const std::string& key, std::chrono::milliseconds timeout);

    std::vector<DiskEntrySummary> list() const;
    // "nearest entry <key> differs in: arch (sm_89 -> sm_90), ..." or "" if none of that template.
    std::string explain_miss(const KeyComponents& wanted) const;
    VerifyReport verify();
    PruneReport prune(std::uint64_t max_bytes, std::optional<std::chrono::hours> older_than = std::nullopt);
    size_t clear();  // removes every entry, lock and quarantined folder; returns entries removed
    size_t quarantined_count() const;

private:
    std::string entry_dir(const std::string& key) const;
    void quarantine(const std::string& key, const std::string& why);
    void warn_once(const std::string& topic, const std::string& message);
    void touch(const std::string& key);
    void enforce_cap(const std::string& keep_key);

    std::string dir_;
    std::string root_;
    std::uint64_t max_bytes_;
    bool enabled_ = false;
    std::string disabled_reason_;
    mutable std::mutex mutex_;
    std::set<std::string> warned_;
};

// entry.json of an entry (the cubin itself is stored beside it; `cubin_checksum` is its
// XXH3-64). Exposed for tests; the codec is in core/json_codec.hpp.
std::string entry_to_json(const CacheEntry& entry, std::uint64_t cubin_checksum);

}  // namespace flashcore
