// Internal: the counters of the processes that used a cache folder, summed in
// <root>/counters.json (each process adds its own when its KernelCache goes away), for
// `flashcore cache stats`. Best effort: a folder that cannot be written keeps no counters.
#pragma once

#include "flashcore/disk_cache.hpp"
#include "flashcore/kernel_cache.hpp"

namespace flashcore::detail {

void add_counters(DiskCache& disk, const CacheCounters& counters);
CacheCounters read_counters(const DiskCache& disk);

}  // namespace flashcore::detail
