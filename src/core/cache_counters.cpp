#include "core/cache_counters.hpp"

#include <unistd.h>

#include "core/disk_cache_layout.hpp"
#include "core/fs_util.hpp"
#include "core/json_codec.hpp"

namespace flashcore::detail {

namespace {
std::string counters_path(const DiskCache& disk) { return disk.root() + "/counters.json"; }
}  // namespace

CacheCounters read_counters(const DiskCache& disk) {
    CacheCounters counters;
    if (auto text = read_file(counters_path(disk))) {
        try {
            counters = nlohmann::json::parse(*text).get<CacheCounters>();
        } catch (const std::exception&) {
            // a damaged counters file starts again from zero
        }
    }
    return counters;
}

void add_counters(DiskCache& disk, const CacheCounters& counters) {
    const CacheCounters zero;
    if (!disk.writable() || nlohmann::json(counters) == nlohmann::json(zero)) return;
    // Serialized across processes: two exits must not both read the old sum.
    bool timed_out = false;
    int fd = lock_path(disk.root() + "/locks/counters.lock", std::chrono::seconds(2), &timed_out, nullptr);
    if (fd < 0) return;
    CacheCounters total = read_counters(disk);
    total += counters;
    replace_file(counters_path(disk), nlohmann::json(total).dump() + "\n");
    ::close(fd);
}

}  // namespace flashcore::detail
