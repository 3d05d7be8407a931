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

#include "flashcore/hash.hpp"
#include "fs_util.hpp"
#include "logging.hpp"

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

json resources_json(const ResourceUsage& r) {
    return {{"registers", r.registers},         {"spill_store_bytes", r.spill_store_bytes},
            {"spill_load_bytes", r.spill_load_bytes}, {"static_shared_bytes", r.static_shared_bytes},
            {"stack_bytes", r.stack_bytes},     {"barriers", r.barriers},
            {"parsed", r.parsed}};
}

ResourceUsage resources_from(const json& j) {
    ResourceUsage r;
    r.registers = j.at("registers");
    r.spill_store_bytes = j.at("spill_store_bytes");
    r.spill_load_bytes = j.at("spill_load_bytes");
    r.static_shared_bytes = j.at("static_shared_bytes");
    r.stack_bytes = j.at("stack_bytes");
    r.barriers = j.value("barriers", 0);
    r.parsed = j.value("parsed", true);
    return r;
}

KeyComponents components_from(const json& j) {
    KeyComponents c;
    c.key_schema = j.at("key_schema");
    c.template_id = j.at("template");
    c.content_digest = j.at("content");
    c.variant = j.at("variant");
    c.options = j.at("options");
    c.arch = j.at("arch");
    c.nvrtc_version = j.at("nvrtc");
    return c;
}

// "a=1,b=2" field lists of two canonical variants, as "a: 1 -> 3" differences.
std::string variant_field_differences(const std::string& from, const std::string& to) {
    auto fields = [](const std::string& v) {
        std::map<std::string, std::string> out;
        size_t colon = v.find(':');
        if (colon == std::string::npos) return out;
        std::string rest = v.substr(colon + 1);
        size_t pos = 0;
        while (pos < rest.size()) {
            size_t comma = rest.find(',', pos);
            std::string item = rest.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
            size_t eq = item.find('=');
            if (eq != std::string::npos) out[item.substr(0, eq)] = item.substr(eq + 1);
            if (comma == std::string::npos) break;
            pos = comma + 1;
        }
        return out;
    };
    auto a = fields(from), b = fields(to);
    std::string out;
    for (const auto& [name, value] : b) {
        auto it = a.find(name);
        std::string old = it == a.end() ? "(absent)" : it->second;
        if (old != value) out += (out.empty() ? "" : ", ") + name + ": " + old + " -> " + value;
    }
    for (const auto& [name, value] : a)
        if (!b.count(name)) out += (out.empty() ? "" : ", ") + name + ": " + value + " -> (absent)";
    return out;
}

}  // namespace

std::string entry_to_json(const CacheEntry& entry, std::uint64_t cubin_checksum) {
    json components = json::object();
    for (const auto& [name, value] : entry.components.fields()) components[name] = value;
    components["key_schema"] = entry.components.key_schema;
    json doc = {{"format", kDiskLayoutVersion},
                {"key", entry.key},
                {"components", components},
                {"lowered_name", entry.compiled.lowered_name},
                {"resources", resources_json(entry.compiled.resources)},
                {"warnings", entry.compiled.warnings},
                {"log", entry.compiled.log},
                {"compile_ms", entry.compiled.compile_ms},
                {"cubin_bytes", entry.compiled.cubin.size()},
                {"cubin_xxh3_64", hex64(cubin_checksum)},
                {"created_unix_ms", entry.created_unix_ms}};
    return doc.dump(2) + "\n";
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
    CacheEntry entry;
    std::uint64_t cubin_bytes = 0;
    std::string checksum;
    try {
        json doc = json::parse(*text);
        if (doc.at("format").get<int>() != kDiskLayoutVersion || doc.at("key").get<std::string>() != key)
            return quarantine(key, "foreign entry: written by another format or for another key"), std::nullopt;
        entry.key = key;
        entry.components = components_from(doc.at("components"));
        entry.compiled.lowered_name = doc.at("lowered_name");
        entry.compiled.resources = resources_from(doc.at("resources"));
        entry.compiled.warnings = doc.at("warnings").get<std::vector<std::string>>();
        entry.compiled.log = doc.at("log");
        entry.compiled.compile_ms = doc.at("compile_ms");
        entry.created_unix_ms = doc.at("created_unix_ms");
        cubin_bytes = doc.at("cubin_bytes");
        checksum = doc.at("cubin_xxh3_64");
    } catch (const std::exception& e) {
        return quarantine(key, std::string("entry.json unreadable: ") + e.what()), std::nullopt;
    }
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
    return entry;
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
            if (auto text = detail::read_file(s.path + "/" + kEntryFile)) {
                try {
                    json doc = json::parse(*text);
                    const json& c = doc.at("components");
                    s.template_id = c.value("template", "?");
                    s.variant = c.value("variant", "?");
                    s.arch = c.value("arch", "?");
                    s.last_use_unix_ms = doc.value("created_unix_ms", std::int64_t{0});
                } catch (const std::exception&) {
                    s.template_id = "?";
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
            have = components_from(json::parse(*text).at("components"));
        } catch (const std::exception&) {
            continue;
        }
        std::vector<std::string> diffs;
        auto a = have.fields(), b = wanted.fields();
        for (size_t i = 0; i < a.size(); ++i) {
            if (a[i].second == b[i].second) continue;
            if (a[i].first == "variant") diffs.push_back("variant (" + variant_field_differences(a[i].second, b[i].second) + ")");
            else if (a[i].first == "content") diffs.push_back("content (template or header text changed)");
            else diffs.push_back(a[i].first + " (" + a[i].second + " -> " + b[i].second + ")");
        }
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
