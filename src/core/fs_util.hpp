// Internal: small POSIX file helpers with errno-carrying results (no exceptions).
#pragma once

#include <optional>
#include <string>

namespace flashcore::detail {

// Writes `data` to a new file (fails if it exists) and fsyncs it. Returns "" or the reason.
std::string write_file_synced(const std::string& path, const std::string& data);
// fsyncs a directory so a rename inside it is durable. Returns "" or the reason.
std::string sync_directory(const std::string& path);
std::optional<std::string> read_file(const std::string& path);
// Replaces `path` atomically (temp file + rename). Returns "" or the reason.
std::string replace_file(const std::string& path, const std::string& data);

}  // namespace flashcore::detail
