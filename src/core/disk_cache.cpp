#include "flashcore/disk_cache.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/fs_util.hpp"
#include "core/json_codec.hpp"
#include "core/logging.hpp"
#include "core/text.hpp"
#include "flashcore/hash.hpp"
#include "flashcore/variant.hpp"

namespace flashcore {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

const char* kCubinFile = "kernel.cubin";
const char* kEntryFile = "entry.json";
const char* kLastUseFile = "last_use";

std::int64_t now_unix_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

bool is_key(const std::string& name) {
    return name.size() == 32 && std::all_of(name.begin(), name.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

std::uint64_t folder_bytes(const fs::path& dir) {
    std::uint64_t total = 0;
    std::error_code ec;
    for (const auto& f : fs::directory_iterator(dir, ec)) {
        std::error_code size_ec;
        if (f.is_regular_file(size_ec)) total += f.file_size(size_ec);
    }
    return total;
}

std::atomic<unsigned> g_temp_counter{0};

std::string unique_suffix() {
    return std::to_string(::getpid()) + "-" + std::to_string(g_temp_counter.fetch_add(1)) + "-" +
           std::to_string(now_unix_ms());
}

// Removes a folder so that readers never see it half-deleted: rename first, then delete.
void remove_entry_folder(const fs::path& dir, const fs::path& root) {
    std::error_code ec;
    fs::path trash = root / (".trash-" + dir.filename().string() + "-" + unique_suffix());
    fs::rename(dir, trash, ec);
    fs::remove_all(ec ? dir : trash, ec);
}

// "content (template or header text changed)" etc.: the fields of `have` that `wanted` differs in.
std::vector<std::string> component_differences(const KeyComponents& have, const KeyComponents& wanted) {
    std::vector<std::string> diffs;
    auto a = have.fields(), b = wanted.fields();
    for (size_t i = 0; i < a.size(); ++i) {
        if (a[i].second == b[i].second) continue;
        if (a[i].first == "variant") {
            auto from = try_split_variant_text(a[i].second), to = try_split_variant_text(b[i].second);
            diffs.push_back("variant (" + (from && to ? detail::join(request_differences(*from, *to), ", ")
                                                      : a[i].second + " -> " + b[i].second) + ")");
        } else if (a[i].first == "content") {
            diffs.push_back("content (template or header text changed)");
        } else {
            diffs.push_back(a[i].first + " (" + a[i].second + " -> " + b[i].second + ")");
        }
    }
    return diffs;
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

DiskCache::DiskCache(std::string dir, std::uint64_t max_bytes)
    : dir_(std::move(dir)), root_(dir_ + "/v" + std::to_string(kDiskLayoutVersion)), max_bytes_(max_bytes) {
    std::error_code ec;
    fs::create_directories(fs::path(root_) / "locks", ec);
    std::string why;
    if (ec) why = "cannot create " + root_ + ": " + ec.message();
    else {
        std::string probe = root_ + "/.probe-" + unique_suffix();
        why = detail::write_file_synced(probe, "probe");
        ::unlink(probe.c_str());
    }
    enabled_ = why.empty();
    if (!enabled_) {
        disabled_reason_ = why;
        detail::log().warn("cache directory {} is not writable ({}); caching in memory only for this process", dir_, why);
    }
}

std::string DiskCache::entry_dir(const std::string& key) const { return root_ + "/" + key.substr(0, 2) + "/" + key; }

void DiskCache::warn_once(const std::string& topic, const std::string& message) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (warned_.insert(topic).second) detail::log().warn("{}", message);
}

void DiskCache::quarantine(const std::string& key, const std::string& why) {
    std::error_code ec;
    if (!fs::exists(entry_dir(key), ec)) return;  // evicted by another process meanwhile: a plain miss
    fs::path target = fs::path(root_) / "quarantine" / (key + "-" + unique_suffix());
    fs::create_directories(target.parent_path(), ec);
    fs::rename(entry_dir(key), target, ec);
    if (ec) fs::remove_all(entry_dir(key), ec);
    warn_once("quarantine:" + key, "cache entry " + key + " is damaged (" + why + "); moved to " + target.string() +
                                       " and treated as a miss");
}

void DiskCache::touch(const std::string& key) {
    // Best effort: a failed stamp only makes eviction less precise.
    detail::replace_file(entry_dir(key) + "/" + kLastUseFile, std::to_string(now_unix_ms()));
}

std::optional<CacheEntry> DiskCache::load(const std::string& key) {
    if (!enabled_) return std::nullopt;
    std::error_code ec;
    const std::string dir = entry_dir(key);
    if (!fs::exists(dir, ec)) return std::nullopt;

    auto text = detail::read_file(dir + "/" + kEntryFile);
    if (!text) return quarantine(key, "entry.json missing"), std::nullopt;
    EntryManifest manifest;
    try {
        manifest = json::parse(*text).get<EntryManifest>();
    } catch (const std::exception& e) {
        return quarantine(key, std::string("entry.json unreadable: ") + e.what()), std::nullopt;
    }
    if (manifest.format != kDiskLayoutVersion || manifest.entry.key != key)
        return quarantine(key, "foreign entry: written by another format or for another key"), std::nullopt;
    CacheEntry& entry = manifest.entry;
    const std::uint64_t cubin_bytes = manifest.cubin_bytes;
    const std::string& checksum = manifest.cubin_xxh3_64;
    if (entry.components.key_schema != kKeySchemaVersion || entry.components.key() != key)
        return quarantine(key, "foreign entry: its key fields do not hash to " + key), std::nullopt;
    auto cubin = detail::read_file(dir + "/" + kCubinFile);
    if (!cubin) return quarantine(key, "kernel.cubin missing"), std::nullopt;
    if (cubin->size() != cubin_bytes)
        return quarantine(key, "kernel.cubin truncated: " + std::to_string(cubin->size()) + " of " +
                                   std::to_string(cubin_bytes) + " bytes"),
               std::nullopt;
    if (hex64(xxh3_64(*cubin)) != checksum) return quarantine(key, "kernel.cubin checksum mismatch"), std::nullopt;
    entry.compiled.cubin = std::move(*cubin);
    touch(key);
    return std::move(entry);
}

bool DiskCache::store(const CacheEntry& entry) {
    if (!enabled_) return false;
    std::error_code ec;
    const fs::path final_dir = entry_dir(entry.key);
    const fs::path shard = final_dir.parent_path();
    const fs::path temp = shard / (".tmp-" + entry.key + "-" + unique_suffix());
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
    if (std::string why = detail::write_file_synced((temp / kCubinFile).string(), entry.compiled.cubin); !why.empty())
        return give_up(why);
    if (std::string why = detail::write_file_synced((temp / kLastUseFile).string(), std::to_string(now_unix_ms()));
        !why.empty())
        return give_up(why);
    std::string manifest = entry_to_json(entry, xxh3_64(entry.compiled.cubin));
    if (std::string why = detail::write_file_synced((temp / kEntryFile).string(), manifest); !why.empty())
        return give_up(why);
    if (std::string why = detail::sync_directory(temp.string()); !why.empty()) return give_up(why);
    if (::rename(temp.c_str(), final_dir.c_str()) != 0) {
        int err = errno;
        fs::remove_all(temp, ec);
        if (err == EEXIST || err == ENOTEMPTY) return true;  // another process stored it first
        return give_up("cannot rename into place: " + std::string(std::strerror(err)));
    }
    detail::sync_directory(shard.string());
    enforce_cap(entry.key);
    return true;
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
    if (!enabled_) return result;
    std::string path = root_ + "/locks/" + key + ".lock";
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        warn_once("lock-open", "cannot open cache lock " + path + ": " + std::strerror(errno) +
                                   "; compiling without cross-process coordination");
        return result;
    }
    // OFD locks belong to the open file description: the kernel drops them when the holder
    // dies, so a killed compiler never blocks the others.
    struct flock request {};
    request.l_type = F_WRLCK;
    request.l_whence = SEEK_SET;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (::fcntl(fd, F_OFD_SETLK, &request) == 0) {
            result.fd_ = fd;
            return result;
        }
        if (errno != EAGAIN && errno != EACCES && errno != EINTR) break;
        if (std::chrono::steady_clock::now() >= deadline) {
            detail::log().warn("waited {} ms for another process compiling cache key {}; compiling here too",
                               timeout.count(), key);
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ::close(fd);
    return result;
}

std::vector<DiskEntrySummary> DiskCache::list() const {
    std::vector<DiskEntrySummary> out;
    std::error_code ec;
    if (!fs::is_directory(root_, ec)) return out;
    for (const auto& shard : fs::directory_iterator(root_, ec)) {
        std::string shard_name = shard.path().filename().string();
        if (shard_name.size() != 2 || !shard.is_directory()) continue;
        std::error_code inner;
        for (const auto& item : fs::directory_iterator(shard.path(), inner)) {
            std::string name = item.path().filename().string();
            if (!is_key(name) || !item.is_directory()) continue;
            DiskEntrySummary s;
            s.key = name;
            s.path = item.path().string();
            s.bytes = folder_bytes(item.path());
            s.template_id = "?";
            if (auto text = detail::read_file(s.path + "/" + kEntryFile)) {
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
            if (auto stamp = detail::read_file(s.path + "/" + kLastUseFile)) {
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
    for (const auto& summary : list()) {
        if (summary.template_id != wanted.template_id) continue;
        auto text = detail::read_file(summary.path + "/" + kEntryFile);
        if (!text) continue;
        KeyComponents have;
        try {
            have = json::parse(*text).at("components").get<KeyComponents>();
        } catch (const std::exception&) {
            continue;
        }
        std::vector<std::string> diffs = component_differences(have, wanted);
        if (diffs.size() < best_count) {
            best_count = diffs.size();
            best = "nearest entry " + summary.key + " differs in: ";
            for (size_t i = 0; i < diffs.size(); ++i) best += (i ? ", " : "") + diffs[i];
        }
    }
    return best;
}

VerifyReport DiskCache::verify() {
    VerifyReport report;
    for (const auto& summary : list()) {
        ++report.checked;
        // load() quarantines anything damaged; a stamp refresh is harmless here.
        if (!load(summary.key)) report.quarantined.push_back(summary.key);
    }
    return report;
}

PruneReport DiskCache::prune(std::uint64_t max_bytes, std::optional<std::chrono::hours> older_than) {
    PruneReport report;
    auto entries = list();
    std::sort(entries.begin(), entries.end(),
              [](const auto& a, const auto& b) { return a.last_use_unix_ms < b.last_use_unix_ms; });
    std::uint64_t total = 0;
    for (const auto& e : entries) total += e.bytes;
    std::int64_t cutoff = older_than ? now_unix_ms() - std::chrono::duration_cast<std::chrono::milliseconds>(*older_than).count()
                                     : INT64_MIN;
    for (const auto& e : entries) {
        bool too_old = e.last_use_unix_ms < cutoff;
        if (!too_old && total <= max_bytes) continue;
        remove_entry_folder(e.path, root_);
        total -= e.bytes;
        report.bytes_freed += e.bytes;
        ++report.removed;
    }
    report.bytes_left = total;
    return report;
}

void DiskCache::enforce_cap(const std::string& keep_key) {
    auto entries = list();
    std::uint64_t total = 0;
    for (const auto& e : entries) total += e.bytes;
    if (total <= max_bytes_) return;
    std::sort(entries.begin(), entries.end(),
              [](const auto& a, const auto& b) { return a.last_use_unix_ms < b.last_use_unix_ms; });
    for (const auto& e : entries) {
        if (total <= max_bytes_) break;
        if (e.key == keep_key) continue;
        remove_entry_folder(e.path, root_);
        total -= e.bytes;
        detail::log().info("cache evicted {} ({} bytes, least recently used) to stay under {} bytes", e.key, e.bytes,
                           max_bytes_);
    }
}

size_t DiskCache::clear() {
    size_t removed = 0;
    for (const auto& e : list()) {
        remove_entry_folder(e.path, root_);
        ++removed;
    }
    std::error_code ec;
    fs::remove_all(fs::path(root_) / "quarantine", ec);
    for (const auto& item : fs::directory_iterator(fs::path(root_) / "locks", ec)) fs::remove(item.path(), ec);
    for (const auto& item : fs::directory_iterator(root_, ec)) {
        std::string name = item.path().filename().string();
        if (name.rfind(".trash-", 0) == 0) fs::remove_all(item.path(), ec);
        if (name.size() == 2 && item.is_directory()) {
            std::error_code inner;
            for (const auto& tmp : fs::directory_iterator(item.path(), inner))
                if (tmp.path().filename().string().rfind(".tmp-", 0) == 0) fs::remove_all(tmp.path(), inner);
        }
    }
    return removed;
}

size_t DiskCache::quarantined_count() const {
    size_t count = 0;
    std::error_code ec;
    for ([[maybe_unused]] const auto& item : fs::directory_iterator(fs::path(root_) / "quarantine", ec)) ++count;
    return count;
}

}  // namespace flashcore
