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
    std::chrono::milliseconds lock_timeout{std::chrono::minutes(10)};  // wait for another process's compile

    // FLASHCORE_CACHE_DIR, else $XDG_CACHE_HOME/flashcore, else ~/.cache/flashcore;
    // FLASHCORE_CACHE_MAX_BYTES (e.g. 512M, 2G); FLASHCORE_JIT (forbid|always);
    // FLASHCORE_LOG_LEVEL; FLASHCORE_TEMPLATE_DIR (':'-separated); CUDA_HOME;
    // FLASHCORE_DRIVER_LIBRARY.
    // Throws Error(bad_input) for malformed values.
    static Config from_env();
};

JitMode parse_jit_mode(const std::string& text);
std::uint64_t parse_byte_size(const std::string& text);  // "1G", "512M", "4096"
std::string default_cache_dir();                           // the XDG/home rule, ignoring FLASHCORE_CACHE_DIR

}  // namespace flashcore
