// The on-disk cache tier: <dir>/v<N>/<2 hex>/<key>/{kernel.cubin, entry.json, last_use}.
// Writes are atomic (temp folder, fsync, rename); a per-key OFD lock lets N processes compile
// a key once; corrupt, truncated or foreign entries are quarantined and reported as a miss;
// a byte cap evicts least-recently-used entries by their explicit last_use stamps.
//
// A folder that cannot be written (read-only mount, another user's cache, full disk) is still
// read: hits are served, nothing is written, and the process says so once. A folder that
// cannot be read either disables the tier (one warning); it never fails a lookup.
//
// Debris (temp folders and files of writers that died, probe files, trash) is reclaimed by the
// next writer and by verify/prune/clear once its owner is gone or it is older than
// kDebrisGrace; quarantine keeps at most kQuarantineMaxFolders folders for kQuarantineMaxAge.
// Entries, quarantine and debris all count against the byte cap. Thread-safe.
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
inline constexpr std::chrono::minutes kDebrisGrace{10};
inline constexpr std::chrono::hours kQuarantineMaxAge{24 * 7};
inline constexpr size_t kQuarantineMaxFolders = 32;

struct DiskEntrySummary {
    std::string key;
    std::string template_id;
    std::string variant;
    std::string arch;
    std::uint64_t bytes = 0;          // whole entry folder
    std::int64_t last_use_unix_ms = 0;
    std::string path;
};

// What the cache folder holds, by kind (all of it counts against the cap).
struct DiskUsage {
    size_t entries = 0;
    std::uint64_t entry_bytes = 0;
    size_t quarantined = 0;
    std::uint64_t quarantine_bytes = 0;
    size_t debris = 0;  // temp folders/files, probes, trash
    std::uint64_t debris_bytes = 0;
    std::uint64_t total_bytes() const { return entry_bytes + quarantine_bytes + debris_bytes; }
};

struct VerifyReport {
    size_t checked = 0;
    std::vector<std::string> damaged;      // keys of damaged entries
    std::vector<std::string> quarantined;  // of those, the ones moved aside (all of them when writable)
};

// What a maintenance verb did. `failed` counts entries it could not remove (with the first
// reason); a verb reports only removals that happened.
struct PruneReport {
    size_t removed = 0;
    std::uint64_t bytes_freed = 0;  // entries, quarantine and debris
    std::uint64_t bytes_left = 0;
    size_t debris_removed = 0;
    size_t failed = 0;
    std::string failure;
};

struct ClearReport {
    size_t removed = 0;      // entries
    size_t locks_kept = 0;   // lock files a live process holds (never unlinked)
    size_t debris_removed = 0;
    size_t failed = 0;
    std::string failure;
};

class DiskCache {
public:
    enum class Mode {
        read_write,  // the cache folder: created if missing; read-only if it cannot be written
        read_only,   // a prebuilt cache (FLASHCORE_CACHE_PATH): never written, never created
    };
    DiskCache(std::string dir, std::uint64_t max_bytes, Mode mode = Mode::read_write);

    bool enabled() const { return readable_; }  // entries can be read
    bool writable() const { return writable_; }
    const std::string& dir() const { return dir_; }    // as configured
    const std::string& root() const { return root_; }  // <dir>/v<N>
    std::uint64_t max_bytes() const { return max_bytes_; }
    // Why the tier is off (enabled() false) or read-only (writable() false); "" otherwise.
    const std::string& disabled_reason() const { return disabled_reason_; }

    // The entry for `key`, or nullopt on a miss. A damaged entry is quarantined (one warning;
    // left in place when read-only) and reported as a miss. Updates last_use on a hit.
    std::optional<CacheEntry> load(const std::string& key);
    // Stores atomically; on failure (full or read-only disk) logs one warning and returns
    // false, leaving no partial entry behind. Enforces the byte cap afterwards.
    bool store(const CacheEntry& entry);
    // Writes a small file under the root once (content-addressed names: an existing file is
    // kept). For the toolkit facts beside the entries. Returns false when it cannot.
    bool store_side_file(const std::string& relative_path, const std::string& content);
    // The files of one side folder (e.g. "toolkits"), name -> content.
    std::vector<std::pair<std::string, std::string>> side_files(const std::string& folder) const;

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
    // Waits up to `timeout` for the key's lock; returns an unheld lock when it times out (one
    // warning saying it compiles without the lock) or the tier cannot be written.
    KeyLock lock(const std::string& key, std::chrono::milliseconds timeout);

    std::vector<DiskEntrySummary> list() const;
    DiskUsage usage() const;
    // "nearest entry <key> differs in: arch (sm_89 -> sm_90), ..." or "" if none of that template.
    std::string explain_miss(const KeyComponents& wanted) const;
    // Checks every entry. Damaged ones are quarantined when the folder is writable.
    VerifyReport verify();
    // Removes entries unused for `older_than` and least-recently-used ones until everything
    // (quarantine and debris included) fits `max_bytes`. Throws Error(cache, cache_io) when the
    // folder cannot be written (nothing is removed).
    PruneReport prune(std::uint64_t max_bytes, std::optional<std::chrono::milliseconds> older_than = std::nullopt);
    // Removes every entry, the quarantine, debris and every lock no live process holds.
    // Throws Error(cache, cache_io) when the folder cannot be written.
    ClearReport clear();
    size_t quarantined_count() const;
    // Reclaims debris whose owner is gone or that is older than `grace`; trims the quarantine.
    // Returns what it removed (count). Done by the first store of each process and by
    // verify/prune/clear.
    size_t sweep_debris(std::chrono::milliseconds grace = kDebrisGrace);

private:
    std::string entry_dir(const std::string& key) const;
    void quarantine(const std::string& key, const std::string& why);
    void warn_once(const std::string& topic, const std::string& message);
    void touch(const std::string& key);
    void enforce_cap(const std::string& keep_key);
    void require_writable(const char* verb) const;

    std::string dir_;
    std::string root_;
    std::uint64_t max_bytes_;
    Mode mode_;
    bool readable_ = false;
    bool writable_ = false;
    std::string disabled_reason_;
    mutable std::mutex mutex_;
    std::set<std::string> warned_;
    bool swept_ = false;
};

// entry.json of an entry (the cubin itself is stored beside it; `cubin_checksum` is its
// XXH3-64). Exposed for tests; the codec is in core/json_codec.hpp.
std::string entry_to_json(const CacheEntry& entry, std::uint64_t cubin_checksum);

}  // namespace flashcore
