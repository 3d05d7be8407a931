// Runtime configuration, read from the environment once at the entry point and passed down
// (library code reads no environment variables on its own).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace flashcore {

enum class JitMode {
    normal,  // memory -> disk -> compile
    forbid,  // a cache miss is an error (production hosts that must never compile)
    always,  // skip cache reads, compile every time, still write
};

struct Config {
    std::string cache_dir;                   // the cache root (a "v<N>" folder is made inside)
    std::uint64_t cache_max_bytes = 1ull << 30;
    JitMode jit = JitMode::normal;
    std::string log_level = "warn";          // spdlog level name
    std::vector<std::string> template_dirs;  // searched before the embedded templates
    std::string cuda_home;                   // toolkit folder hint ("" = search)
    std::string driver_library = "libcuda.so.1";  // FLASHCORE_DRIVER_LIBRARY (tests point it elsewhere)
    // How long to wait for another process compiling the same key before compiling here too.
    std::chrono::milliseconds lock_timeout{std::chrono::minutes(10)};
    std::vector<std::string> cache_paths;    // read-only prebuilt caches, searched after cache_dir
    std::string remote_cache;                // "redis://host:port/db" or "" (no remote tier)
    std::string nvrtc_library;               // "" = libnvrtc.so.13 (searched), else this file

    // FLASHCORE_CACHE_DIR, else $XDG_CACHE_HOME/flashcore, else ~/.cache/flashcore;
    // FLASHCORE_CACHE_MAX_BYTES (e.g. 512M, 2G); FLASHCORE_CACHE_LOCK_TIMEOUT (e.g. 30s, 10m);
    // FLASHCORE_CACHE_PATH (':'-separated read-only caches); FLASHCORE_REMOTE_CACHE;
    // FLASHCORE_JIT (forbid|always); FLASHCORE_LOG_LEVEL; FLASHCORE_TEMPLATE_DIR
    // (':'-separated, each must exist); CUDA_HOME; FLASHCORE_DRIVER_LIBRARY;
    // FLASHCORE_NVRTC_LIBRARY.
    // Throws Error(bad_input) for malformed or out-of-range values, naming the variable.
    static Config from_env();
};

inline constexpr std::chrono::milliseconds kMaxLockTimeout{std::chrono::hours(24)};

JitMode parse_jit_mode(const std::string& text);
// "1G", "512M", "4096": at most 1 EiB; Error(bad_input) naming `field` otherwise.
std::uint64_t parse_byte_size(const std::string& text, const std::string& field = "byte size");
// "30s", "10m", "500ms", a bare number of seconds; 0 to 24 h.
std::chrono::milliseconds parse_lock_timeout(const std::string& text,
                                             const std::string& field = "FLASHCORE_CACHE_LOCK_TIMEOUT");
std::string default_cache_dir();                           // the XDG/home rule, ignoring FLASHCORE_CACHE_DIR

}  // namespace flashcore
