// A cache as one file, for caches built in CI and baked into images: `flashcore cache export
// FILE` / `cache import FILE`. The bundle holds every valid entry (manifest + cubin) and the
// toolkit records a host without NVRTC needs to find them, and ends with an XXH3-64 checksum
// of everything before it. Import checks the checksum first, then each entry as a disk load
// would (key fields, cubin size and checksum), and stores entries atomically.
#pragma once

#include <cstdint>
#include <string>

#include "flashcore/disk_cache.hpp"

namespace flashcore {

struct BundleReport {
    size_t entries = 0;        // exported / imported
    size_t toolkits = 0;       // toolkit records carried
    size_t skipped = 0;        // damaged entries left out (export) or refused (import)
    std::uint64_t bytes = 0;   // bundle size
};

// Writes the bundle of `disk` to `path` (atomically: a temp file renamed into place). Throws
// Error(io, cache_io) when it cannot write it.
BundleReport export_bundle(const DiskCache& disk, const std::string& path);
// Reads the bundle at `path` into `disk`. Throws Error(cache, bad_input) for a file that is not
// a whole bundle (bad header, truncated, checksum mismatch) before storing anything, and
// Error(cache, cache_io) when `disk` cannot be written.
BundleReport import_bundle(DiskCache& disk, const std::string& path);

}  // namespace flashcore
