// The disk tier's lookup and store half: load, store, key locks, listing and miss reasons.
// Maintenance (verify, prune, clear, debris, the cap) is in disk_cache_maintenance.cpp.
#include "flashcore/disk_cache.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/disk_cache_layout.hpp"
#include "core/entry_codec.hpp"
#include "core/fs_util.hpp"
#include "core/json_codec.hpp"
#include "core/logging.hpp"
#include "core/text.hpp"
#include "flashcore/error.hpp"
#include "flashcore/hash.hpp"
#include "flashcore/variant.hpp"

namespace flashcore {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace detail {

std::int64_t now_unix_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

bool is_cache_key(const std::string& name) {
    return name.size() == 32 && std::all_of(name.begin(), name.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

std::uint64_t tree_bytes(const fs::path& path) {
    std::error_code ec;
    if (fs::is_regular_file(fs::symlink_status(path, ec))) return fs::file_size(path, ec);
    std::uint64_t total = 0;
    for (auto it = fs::recursive_directory_iterator(path, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
        std::error_code size_ec;
        if (it->is_regular_file(size_ec)) total += it->file_size(size_ec);
    }
    return total;
}

namespace {
std::atomic<unsigned> g_temp_counter{0};
}  // namespace

std::string unique_suffix() {
    return std::to_string(::getpid()) + "-" + std::to_string(g_temp_counter.fetch_add(1)) + "-" +
           std::to_string(now_unix_ms());
}

pid_t debris_owner(const std::string& name) {
    std::string digits;
    if (size_t stamp = name.rfind(kStampTemp); stamp != std::string::npos && name.find('-') == std::string::npos) {
        digits = name.substr(stamp + std::strlen(kStampTemp));
    } else {
        // ...-<pid>-<counter>-<ms>
        size_t last = name.rfind('-');
        size_t middle = last == std::string::npos || last == 0 ? std::string::npos : name.rfind('-', last - 1);
        size_t first = middle == std::string::npos || middle == 0 ? std::string::npos : name.rfind('-', middle - 1);
        if (first == std::string::npos) return -1;
        digits = name.substr(first + 1, middle - first - 1);
    }
    if (digits.empty() || digits.size() > 9 || !std::all_of(digits.begin(), digits.end(), ::isdigit)) return -1;
    return static_cast<pid_t>(std::stol(digits));
}

bool debris_reclaimable(const fs::path& path, const std::string& name, std::int64_t grace_ms) {
    // A pid in this namespace that no longer exists: its writer died (a different host sharing
    // the folder has its own pids, so age decides for those too: see kDebrisGrace).
    pid_t owner = debris_owner(name);
    if (owner > 0 && owner != ::getpid() && ::kill(owner, 0) != 0 && errno == ESRCH) return true;
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return false;
    std::int64_t mtime_ms = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
    return now_unix_ms() - mtime_ms >= grace_ms;
}

std::string remove_folder(const fs::path& dir, const fs::path& root) {
    std::error_code ec;
    fs::path trash = root / (std::string(kTrashPrefix) + dir.filename().string() + "-" + unique_suffix());
    fs::rename(dir, trash, ec);
    if (ec) {
        if (ec == std::errc::no_such_file_or_directory) return "already gone";
        return "cannot move " + dir.string() + " aside: " + ec.message();
    }
    fs::remove_all(trash, ec);  // a leftover is trash: the next sweep reclaims it
    return {};
}

int lock_path(const std::string& path, std::chrono::milliseconds timeout, bool* timed_out, std::string* why) {
    // OFD locks belong to the open file description: the kernel drops them when the holder
    // dies, so a killed compiler never blocks the others.
    auto deadline = std::chrono::steady_clock::now() + timeout;
    if (timed_out) *timed_out = false;
    for (;;) {
        int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) {
            if (why) *why = "cannot open " + path + ": " + std::strerror(errno);
            return -1;
        }
        struct flock request {};
        request.l_type = F_WRLCK;
        request.l_whence = SEEK_SET;
        bool retry_open = false;
        for (;;) {
            if (::fcntl(fd, F_OFD_SETLK, &request) == 0) {
                // `clear` unlinks idle lock files: a lock on an inode that is no longer the one
                // at `path` coordinates nobody, so take the lock again on the file there now.
                struct stat held {}, current {};
                if (::fstat(fd, &held) == 0 && ::stat(path.c_str(), &current) == 0 && held.st_ino == current.st_ino &&
                    held.st_dev == current.st_dev)
                    return fd;
                retry_open = true;
                break;
            }
            if (errno != EAGAIN && errno != EACCES && errno != EINTR) break;
            if (std::chrono::steady_clock::now() >= deadline) {
                if (timed_out) *timed_out = true;
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        ::close(fd);
        if (!retry_open) return -1;
    }
}

}  // namespace detail

using namespace detail;

namespace {

// "content (template or header text changed)" etc.: the fields of `have` that `wanted` differs in.
std::vector<std::string> component_differences(const KeyComponents& have, const KeyComponents& wanted) {
    std::vector<std::string> diffs;
    auto a = have.fields(), b = wanted.fields();
    for (size_t i = 0; i < a.size(); ++i) {
        if (a[i].second == b[i].second) continue;
        if (a[i].first == "variant") {
            auto from = try_split_variant_text(a[i].second), to = try_split_variant_text(b[i].second);
            diffs.push_back("variant (" + (from && to ? join(request_differences(*from, *to), ", ")
                                                      : a[i].second + " -> " + b[i].second) + ")");
        } else if (a[i].first == "content") {
            diffs.push_back("content (template or header text changed)");
        } else {
            diffs.push_back(a[i].first + " (" + a[i].second + " -> " + b[i].second + ")");
        }
    }
    return diffs;
}

bool readable_dir(const std::string& path) {
    std::error_code ec;
    return fs::is_directory(path, ec) && ::access(path.c_str(), R_OK | X_OK) == 0;
}

}  // namespace

std::string entry_to_json(const CacheEntry& entry, std::uint64_t cubin_checksum) {
    EntryManifest manifest;
    manifest.entry.key = entry.key;
    manifest.entry.components = entry.components;
    manifest.entry.created_unix_ms = entry.created_unix_ms;
    const Compiled& c = entry.compiled;
    manifest.entry.compiled = Compiled{{}, c.log, c.warnings, c.lowered_name, c.resources, c.compile_ms};  // no cubin copy
    manifest.cubin_bytes = entry.compiled.cubin.size();
    manifest.cubin_xxh3_64 = hex64(cubin_checksum);
    return json(manifest).dump(2) + "\n";
}

DiskCache::DiskCache(std::string dir, std::uint64_t max_bytes, Mode mode)
    : dir_(std::move(dir)), root_(dir_ + "/v" + std::to_string(kDiskLayoutVersion)), max_bytes_(max_bytes), mode_(mode) {
    if (mode_ == Mode::read_only) {
        readable_ = readable_dir(root_);
        if (!readable_) {
            disabled_reason_ = "no readable cache at " + root_;
            log().warn("prebuilt cache {} is not usable ({}); it is skipped", dir_, disabled_reason_);
        } else {
            disabled_reason_ = "a prebuilt cache (FLASHCORE_CACHE_PATH) is only read";
        }
        return;
    }
    std::error_code ec;
    fs::create_directories(fs::path(root_) / "locks", ec);
    std::string why;
    if (ec) why = "cannot create " + root_ + "/locks: " + ec.message();
    else {
        std::string probe = root_ + "/" + kProbePrefix + unique_suffix();
        why = write_file_synced(probe, "probe");
        ::unlink(probe.c_str());
    }
    writable_ = why.empty();
    readable_ = writable_ || readable_dir(root_);
    if (writable_) return;
    disabled_reason_ = why;
    if (readable_)
        log().warn("cache directory {} is read-only ({}); serving the kernels it holds, new ones stay in memory for "
                   "this process (set FLASHCORE_CACHE_DIR to a writable folder to keep them)",
                   dir_, why);
    else
        log().warn("cache directory {} is not usable ({}); caching in memory only for this process", dir_, why);
}

std::string DiskCache::entry_dir(const std::string& key) const { return root_ + "/" + key.substr(0, 2) + "/" + key; }

void DiskCache::warn_once(const std::string& topic, const std::string& message) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (warned_.insert(topic).second) log().warn("{}", message);
}

void DiskCache::quarantine(const std::string& key, const std::string& why) {
    std::error_code ec;
    if (!fs::exists(entry_dir(key), ec)) return;  // evicted by another process meanwhile: a plain miss
    if (!writable_) {
        warn_once("damaged:" + key, "cache entry " + key + " in " + root_ + " is damaged (" + why +
                                        "); treated as a miss and left in place (the folder is read-only)");
        return;
    }
    fs::path target = fs::path(root_) / "quarantine" / (key + "-" + unique_suffix());
    fs::create_directories(target.parent_path(), ec);
    fs::rename(entry_dir(key), target, ec);
    if (ec) remove_folder(entry_dir(key), root_);
    warn_once("quarantine:" + key, "cache entry " + key + " is damaged (" + why + "); moved to " + target.string() +
                                       " and treated as a miss");
}

void DiskCache::touch(const std::string& key) {
    // Best effort: a failed stamp only makes eviction less precise.
    if (writable_) replace_file(entry_dir(key) + "/" + kLastUseFile, std::to_string(now_unix_ms()));
}

std::optional<CacheEntry> DiskCache::load(const std::string& key) {
    if (!readable_) return std::nullopt;
    std::error_code ec;
    const std::string dir = entry_dir(key);
    if (!fs::exists(dir, ec)) return std::nullopt;
    auto manifest = read_file(dir + "/" + kEntryFile);
    if (!manifest) return quarantine(key, "entry.json missing"), std::nullopt;
    DecodedEntry decoded = decode_entry(*manifest, read_file(dir + "/" + kCubinFile), key);
    if (!decoded.entry) return quarantine(key, decoded.damage), std::nullopt;
    touch(key);
    return std::move(decoded.entry);
}

bool DiskCache::store(const CacheEntry& entry) {
    if (!writable_) return false;
    std::error_code ec;
    const fs::path final_dir = entry_dir(entry.key);
    const fs::path shard = final_dir.parent_path();
    const fs::path temp = shard / (kTempPrefix + entry.key + "-" + unique_suffix());
    auto give_up = [&](const std::string& why) {
        fs::remove_all(temp, ec);
        warn_once("store-failed", "cannot write to the kernel cache at " + root_ + " (" + why +
                                      "); the kernel stays in memory for this process. Free space or set "
                                      "FLASHCORE_CACHE_DIR to a writable folder");
        return false;
    };
    fs::create_directories(shard, ec);
    if (ec) return give_up("cannot create " + shard.string() + ": " + ec.message());
    if (!fs::create_directory(temp, ec) || ec) return give_up("cannot create " + temp.string() + ": " + ec.message());

    // The manifest goes last: a folder with entry.json always has a complete cubin beside it.
    if (std::string why = write_file_synced((temp / kCubinFile).string(), entry.compiled.cubin); !why.empty())
        return give_up(why);
    if (std::string why = write_file_synced((temp / kLastUseFile).string(), std::to_string(now_unix_ms()));
        !why.empty())
        return give_up(why);
    if (std::string why = write_file_synced((temp / kEntryFile).string(), entry_manifest(entry)); !why.empty())
        return give_up(why);
    if (std::string why = sync_directory(temp.string()); !why.empty()) return give_up(why);
    if (::rename(temp.c_str(), final_dir.c_str()) != 0) {
        int err = errno;
        fs::remove_all(temp, ec);
        if (err == EEXIST || err == ENOTEMPTY) return true;  // another process stored it first
        return give_up("cannot rename into place: " + std::string(std::strerror(err)));
    }
    sync_directory(shard.string());
    bool sweep = false;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        sweep = !swept_;
        swept_ = true;
    }
    if (sweep) sweep_debris();
    enforce_cap(entry.key);
    return true;
}

bool DiskCache::store_side_file(const std::string& relative_path, const std::string& content) {
    if (!writable_) return false;
    fs::path path = fs::path(root_) / relative_path;
    std::error_code ec;
    if (fs::exists(path, ec)) return true;
    fs::create_directories(path.parent_path(), ec);
    std::string temp = path.parent_path().string() + "/" + kTempPrefix + path.filename().string() + "-" + unique_suffix();
    if (!write_file_synced(temp, content).empty() || ::rename(temp.c_str(), path.c_str()) != 0) {
        ::unlink(temp.c_str());
        return false;
    }
    return true;
}

std::vector<std::pair<std::string, std::string>> DiskCache::side_files(const std::string& folder) const {
    std::vector<std::pair<std::string, std::string>> out;
    if (!readable_) return out;
    std::error_code ec;
    for (const auto& item : fs::directory_iterator(fs::path(root_) / folder, ec)) {
        std::string name = item.path().filename().string();
        if (name.empty() || name[0] == '.') continue;
        if (auto text = read_file(item.path().string())) out.emplace_back(name, std::move(*text));
    }
    std::sort(out.begin(), out.end());
    return out;
}

DiskCache::KeyLock::KeyLock(KeyLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }

DiskCache::KeyLock& DiskCache::KeyLock::operator=(KeyLock&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = other.fd_;
        other.fd_ = -1;
    }
    return *this;
}

DiskCache::KeyLock::~KeyLock() {
    if (fd_ >= 0) ::close(fd_);  // closing the descriptor releases the OFD lock
}

DiskCache::KeyLock DiskCache::lock(const std::string& key, std::chrono::milliseconds timeout) {
    KeyLock result;
    if (!writable_) return result;
    bool timed_out = false;
    std::string why;
    result.fd_ = lock_path(root_ + "/locks/" + key + ".lock", timeout, &timed_out, &why);
    if (!why.empty()) warn_once("lock-open", "cannot take cache lock (" + why + "); compiling without cross-process coordination");
    if (timed_out)
        log().warn("waited {} ms (FLASHCORE_CACHE_LOCK_TIMEOUT) for another process compiling cache key {}; "
                   "compiling here without the lock",
                   timeout.count(), key);
    return result;
}

std::vector<DiskEntrySummary> DiskCache::list() const {
    std::vector<DiskEntrySummary> out;
    std::error_code ec;
    if (!readable_) return out;
    for (const auto& shard : fs::directory_iterator(root_, ec)) {
        std::string shard_name = shard.path().filename().string();
        std::error_code inner;
        if (shard_name.size() != 2 || !shard.is_directory(inner)) continue;
        for (const auto& item : fs::directory_iterator(shard.path(), inner)) {
            std::string name = item.path().filename().string();
            std::error_code type_ec;
            if (!is_cache_key(name) || !item.is_directory(type_ec)) continue;
            DiskEntrySummary s;
            s.key = name;
            s.path = item.path().string();
            s.bytes = tree_bytes(item.path());
            s.template_id = "?";
            if (auto text = read_file(s.path + "/" + kEntryFile)) {
                try {
                    EntryManifest m = json::parse(*text).get<EntryManifest>();
                    s.template_id = m.entry.components.template_id;
                    s.variant = m.entry.components.variant;
                    s.arch = m.entry.components.arch;
                    s.last_use_unix_ms = m.entry.created_unix_ms;
                } catch (const std::exception&) {
                    // listed with template "?": `cache verify` quarantines it
                }
            }
            if (auto stamp = read_file(s.path + "/" + kLastUseFile)) {
                try {
                    s.last_use_unix_ms = std::stoll(*stamp);
                } catch (const std::exception&) {
                }
            }
            out.push_back(std::move(s));
        }
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
    return out;
}

std::string DiskCache::explain_miss(const KeyComponents& wanted) const {
    std::string best;
    size_t best_count = SIZE_MAX;
    const std::string wanted_key = wanted.key();
    for (const auto& summary : list()) {
        if (summary.template_id != wanted.template_id) continue;
        auto text = read_file(summary.path + "/" + kEntryFile);
        if (!text) continue;
        auto have = manifest_components(*text);
        if (!have) continue;
        std::vector<std::string> diffs = component_differences(*have, wanted);
        if (diffs.empty() && summary.key == wanted_key) {
            // The very key is here but was not served: it is damaged (the load said why).
            return "entry " + summary.key + " is present but damaged";
        }
        if (diffs.size() < best_count) {
            best_count = diffs.size();
            best = "nearest entry " + summary.key + " differs in: " + join(diffs, ", ");
        }
    }
    return best;
}

}  // namespace flashcore
