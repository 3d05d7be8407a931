// The disk tier's maintenance half: usage, verify, prune, clear, debris and the byte cap.
// Every removal is counted only when it happened; a folder that cannot be written makes the
// verbs fail (they never report removals they could not make).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "core/disk_cache_layout.hpp"
#include "core/entry_codec.hpp"
#include "core/fs_util.hpp"
#include "core/logging.hpp"
#include "flashcore/disk_cache.hpp"
#include "flashcore/error.hpp"

namespace flashcore {

namespace fs = std::filesystem;
using namespace detail;

namespace {

// How long eviction waits for another process's eviction pass (each takes milliseconds).
constexpr std::chrono::seconds kCapLockWait{10};

enum class ItemKind { entry, quarantine, debris };

struct Item {
    fs::path path;
    std::string name;
    ItemKind kind = ItemKind::entry;
    std::uint64_t bytes = 0;
    std::int64_t last_use_ms = 0;
};

std::int64_t mtime_ms(const fs::path& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return 0;
    return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
}

bool is_debris_name(const std::string& name) {
    return name.rfind(kTempPrefix, 0) == 0 || name.rfind(kTrashPrefix, 0) == 0 || name.rfind(kProbePrefix, 0) == 0 ||
           name.find(kStampTemp) != std::string::npos;
}

// Everything under the root, by kind. Locks and side folders (toolkits) hold no bytes worth
// counting; their temp files are debris.
std::vector<Item> scan(const fs::path& root) {
    std::vector<Item> out;
    std::error_code ec;
    auto add_debris = [&](const fs::path& path) {
        out.push_back({path, path.filename().string(), ItemKind::debris, tree_bytes(path), mtime_ms(path)});
    };
    for (const auto& top : fs::directory_iterator(root, ec)) {
        const std::string name = top.path().filename().string();
        std::error_code type_ec;
        const bool is_dir = top.is_directory(type_ec);
        if (is_debris_name(name)) {
            add_debris(top.path());
        } else if (name == "quarantine" && is_dir) {
            std::error_code inner;
            for (const auto& q : fs::directory_iterator(top.path(), inner))
                out.push_back({q.path(), q.path().filename().string(), ItemKind::quarantine, tree_bytes(q.path()),
                               mtime_ms(q.path())});
        } else if (name.size() == 2 && is_dir) {
            std::error_code inner;
            for (const auto& item : fs::directory_iterator(top.path(), inner)) {
                const std::string item_name = item.path().filename().string();
                if (is_debris_name(item_name)) {
                    add_debris(item.path());
                    continue;
                }
                if (!is_cache_key(item_name)) continue;
                Item entry{item.path(), item_name, ItemKind::entry, 0, 0};
                std::error_code files_ec;
                for (const auto& f : fs::directory_iterator(item.path(), files_ec)) {
                    const std::string file = f.path().filename().string();
                    if (is_debris_name(file)) add_debris(f.path());
                    else entry.bytes += tree_bytes(f.path());
                }
                entry.last_use_ms = mtime_ms(item.path());
                if (auto stamp = read_file((item.path() / kLastUseFile).string())) {
                    try {
                        entry.last_use_ms = std::stoll(*stamp);
                    } catch (const std::exception&) {
                    }
                }
                out.push_back(std::move(entry));
            }
        } else if (is_dir && name != "locks") {
            std::error_code inner;  // side folders: only their temp files are debris
            for (const auto& f : fs::directory_iterator(top.path(), inner))
                if (is_debris_name(f.path().filename().string())) add_debris(f.path());
        }
    }
    return out;
}

// Removes one item; "" or why not. Entries go through the trash rename so readers never see
// half an entry; quarantine and debris are nobody's to read.
std::string remove_item(const Item& item, const fs::path& root) {
    if (item.kind == ItemKind::entry) return remove_folder(item.path, root);
    std::error_code ec;
    fs::remove_all(item.path, ec);
    if (ec && ec != std::errc::no_such_file_or_directory) return "cannot remove " + item.path.string() + ": " + ec.message();
    return {};
}

// A lock across processes for eviction passes, so two writers never count the same removal.
class CapLock {
public:
    explicit CapLock(const std::string& path) {
        bool timed_out = false;
        fd_ = lock_path(path, kCapLockWait, &timed_out, nullptr);
        if (timed_out) log().warn("eviction lock {} busy for {} s; evicting without it", path, kCapLockWait.count());
    }
    ~CapLock() {
        if (fd_ >= 0) ::close(fd_);
    }
    CapLock(const CapLock&) = delete;
    CapLock& operator=(const CapLock&) = delete;

private:
    int fd_ = -1;
};

}  // namespace

void DiskCache::require_writable(const char* verb) const {
    if (writable_) return;
    fail(Stage::cache, ErrorCode::cache_io,
         std::string("cannot ") + verb + " the cache at " + root_ + ": it is not writable (" + disabled_reason_ +
             "); nothing was removed. Run as the folder's owner, or point FLASHCORE_CACHE_DIR / --cache-dir elsewhere");
}

DiskUsage DiskCache::usage() const {
    DiskUsage u;
    if (!readable_) return u;
    for (const auto& item : scan(root_)) {
        switch (item.kind) {
            case ItemKind::entry: ++u.entries, u.entry_bytes += item.bytes; break;
            case ItemKind::quarantine: ++u.quarantined, u.quarantine_bytes += item.bytes; break;
            case ItemKind::debris: ++u.debris, u.debris_bytes += item.bytes; break;
        }
    }
    return u;
}

size_t DiskCache::quarantined_count() const { return usage().quarantined; }

size_t DiskCache::sweep_debris(std::chrono::milliseconds grace) {
    if (!writable_) return 0;
    size_t removed = 0;
    std::vector<Item> quarantine;
    for (auto& item : scan(root_)) {
        if (item.kind == ItemKind::quarantine) quarantine.push_back(std::move(item));
        else if (item.kind == ItemKind::debris && debris_reclaimable(item.path, item.name, grace.count()) &&
                 remove_item(item, root_).empty())
            ++removed;
    }
    // Quarantine is kept for a post-mortem, not forever: the newest few, for a week.
    std::sort(quarantine.begin(), quarantine.end(), [](const Item& a, const Item& b) { return a.last_use_ms > b.last_use_ms; });
    const std::int64_t oldest = now_unix_ms() - std::chrono::duration_cast<std::chrono::milliseconds>(kQuarantineMaxAge).count();
    for (size_t i = 0; i < quarantine.size(); ++i)
        if ((i >= kQuarantineMaxFolders || quarantine[i].last_use_ms < oldest) && remove_item(quarantine[i], root_).empty())
            ++removed;
    return removed;
}

VerifyReport DiskCache::verify() {
    VerifyReport report;
    if (!readable_) return report;
    if (writable_) sweep_debris();
    for (const auto& summary : list()) {
        const std::string dir = summary.path;
        auto manifest = read_file(dir + "/" + kEntryFile);
        std::error_code ec;
        if (!manifest && !fs::exists(dir, ec)) continue;  // evicted meanwhile: nothing to check
        ++report.checked;
        DecodedEntry decoded = manifest ? decode_entry(*manifest, read_file(dir + "/" + kCubinFile), summary.key)
                                        : DecodedEntry{std::nullopt, "entry.json missing"};
        if (decoded.entry) continue;
        report.damaged.push_back(summary.key);
        quarantine(summary.key, decoded.damage);
        if (writable_ && !fs::exists(dir, ec)) report.quarantined.push_back(summary.key);
    }
    return report;
}

PruneReport DiskCache::prune(std::uint64_t max_bytes, std::optional<std::chrono::milliseconds> older_than) {
    require_writable("prune");
    CapLock cap(root_ + "/locks/cap.lock");
    PruneReport report;
    report.debris_removed = sweep_debris();
    std::vector<Item> items = scan(root_);
    std::uint64_t total = 0;
    for (const auto& item : items) total += item.bytes;
    // Quarantine first, then entries, least recently used first; debris still here is live.
    std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
        if ((a.kind == ItemKind::quarantine) != (b.kind == ItemKind::quarantine)) return a.kind == ItemKind::quarantine;
        return a.last_use_ms < b.last_use_ms;
    });
    const std::int64_t now = now_unix_ms();
    // An age beyond the epoch selects nothing (and must not wrap around: 1e12 days).
    const bool by_age = older_than && older_than->count() >= 0 && older_than->count() <= now;
    const std::int64_t cutoff = by_age ? now - older_than->count() : 0;
    for (const auto& item : items) {
        if (item.kind == ItemKind::debris) continue;
        const bool too_old = by_age && item.kind == ItemKind::entry && item.last_use_ms < cutoff;
        if (!too_old && total <= max_bytes) continue;
        if (std::string why = remove_item(item, root_); !why.empty()) {
            if (why == "already gone") continue;
            if (report.failed++ == 0) report.failure = why;
            continue;
        }
        total -= item.bytes;
        report.bytes_freed += item.bytes;
        if (item.kind == ItemKind::entry) ++report.removed;
    }
    report.bytes_left = total;
    return report;
}

void DiskCache::enforce_cap(const std::string& keep_key) {
    std::vector<Item> items = scan(root_);
    std::uint64_t total = 0;
    for (const auto& item : items) total += item.bytes;
    if (total <= max_bytes_) return;
    // Over the cap: count again under the eviction lock, so concurrent writers see each
    // other's removals and none evicts on a stale total.
    CapLock cap(root_ + "/locks/cap.lock");
    items = scan(root_);
    total = 0;
    for (const auto& item : items) total += item.bytes;
    std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
        if ((a.kind == ItemKind::quarantine) != (b.kind == ItemKind::quarantine)) return a.kind == ItemKind::quarantine;
        return a.last_use_ms < b.last_use_ms;
    });
    for (const auto& item : items) {
        if (total <= max_bytes_) break;
        if (item.kind == ItemKind::debris || item.name == keep_key) continue;
        if (!remove_item(item, root_).empty()) continue;
        total -= item.bytes;
        log().info("cache evicted {} ({} bytes, least recently used) to stay under {} bytes", item.name, item.bytes,
                   max_bytes_);
    }
}

ClearReport DiskCache::clear() {
    require_writable("clear");
    ClearReport report;
    report.debris_removed = sweep_debris();
    for (const auto& item : scan(root_)) {
        if (item.kind == ItemKind::debris) continue;  // live writers' temp folders: theirs
        if (std::string why = remove_item(item, root_); !why.empty()) {
            if (why != "already gone" && report.failed++ == 0) report.failure = why;
            continue;
        }
        if (item.kind == ItemKind::entry) ++report.removed;
    }
    // A lock file is unlinked only while this process holds its lock: a live holder keeps
    // its file (and compile-once), and a process that opened the old file retries on the new.
    std::error_code ec;
    for (const auto& item : fs::directory_iterator(fs::path(root_) / "locks", ec)) {
        int fd = ::open(item.path().c_str(), O_RDWR | O_CLOEXEC);
        if (fd < 0) continue;
        struct flock request {};
        request.l_type = F_WRLCK;
        request.l_whence = SEEK_SET;
        if (::fcntl(fd, F_OFD_SETLK, &request) == 0) ::unlink(item.path().c_str());
        else ++report.locks_kept;
        ::close(fd);
    }
    return report;
}

}  // namespace flashcore
