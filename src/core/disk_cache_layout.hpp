// Internal: names and small file operations of the disk cache's folder layout, shared by the
// lookup/store half (disk_cache.cpp) and the maintenance half (disk_cache_maintenance.cpp).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

namespace flashcore::detail {

inline const char* kCubinFile = "kernel.cubin";
inline const char* kEntryFile = "entry.json";
inline const char* kLastUseFile = "last_use";
inline const char* kTempPrefix = ".tmp-";     // <shard>/.tmp-<key>-<suffix>: a store in progress
inline const char* kTrashPrefix = ".trash-";  // <root>/.trash-<name>-<suffix>: a removal in progress
inline const char* kProbePrefix = ".probe-";  // <root>/.probe-<suffix>: the write probe
inline const char* kStampTemp = ".tmp.";      // <entry>/last_use.tmp.<pid>: a stamp being replaced

std::int64_t now_unix_ms();
bool is_cache_key(const std::string& name);
// Bytes of the regular files in a folder and its subfolders.
std::uint64_t tree_bytes(const std::filesystem::path& path);
// "<pid>-<counter>-<unix ms>": unique among the processes and threads sharing a folder.
std::string unique_suffix();
// The pid a debris name carries (its unique_suffix, or the ".tmp.<pid>" ending), or -1.
pid_t debris_owner(const std::string& name);
// True when debris may be reclaimed: its owner process is gone, or it is older than `grace`.
bool debris_reclaimable(const std::filesystem::path& path, const std::string& name, std::int64_t grace_ms);
// Moves a folder aside, then deletes it, so that readers never see it half-deleted.
// Returns "" or why it could not be removed (then nothing moved).
std::string remove_folder(const std::filesystem::path& dir, const std::filesystem::path& root);

// Takes the OFD write lock of the file at `path` (created if missing), waiting up to
// `timeout`. Returns the descriptor holding it, or -1: `*timed_out` says whether it waited in
// vain, `*why` why it could not open the file otherwise. The lock is on the file that is at
// `path` when it returns (an unlinked file is let go and the new one locked).
int lock_path(const std::string& path, std::chrono::milliseconds timeout, bool* timed_out, std::string* why);

}  // namespace flashcore::detail
