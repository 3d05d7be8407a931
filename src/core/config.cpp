#include "flashcore/config.hpp"

#include <cstdlib>
#include <filesystem>

#include "core/number_parse.hpp"
#include "core/text.hpp"
#include "flashcore/error.hpp"

namespace flashcore {

namespace {
std::string env(const char* name) {
    const char* value = std::getenv(name);
    return value ? value : "";
}

std::vector<std::string> folder_list(const std::string& text) {
    std::vector<std::string> out;
    for (const auto& dir : detail::split(text, ':'))
        if (!dir.empty()) out.push_back(dir);
    return out;
}
}  // namespace

JitMode parse_jit_mode(const std::string& text) {
    if (text.empty() || text == "normal" || text == "auto") return JitMode::normal;
    if (text == "forbid") return JitMode::forbid;
    if (text == "always") return JitMode::always;
    fail(Stage::validate, ErrorCode::bad_input, "FLASHCORE_JIT='" + text + "' is not one of: normal, forbid, always");
}

std::uint64_t parse_byte_size(const std::string& text, const std::string& field) {
    return detail::parse_byte_size(text, field);
}

std::chrono::milliseconds parse_lock_timeout(const std::string& text, const std::string& field) {
    return detail::parse_duration(text, field, "s", kMaxLockTimeout);
}

std::string default_cache_dir() {
    if (std::string xdg = env("XDG_CACHE_HOME"); !xdg.empty()) return xdg + "/flashcore";
    if (std::string home = env("HOME"); !home.empty()) return home + "/.cache/flashcore";
    return "/tmp/flashcore-cache";
}

Config Config::from_env() {
    Config config;
    config.cache_dir = env("FLASHCORE_CACHE_DIR");
    if (config.cache_dir.empty()) config.cache_dir = default_cache_dir();
    if (std::string cap = env("FLASHCORE_CACHE_MAX_BYTES"); !cap.empty())
        config.cache_max_bytes = parse_byte_size(cap, "FLASHCORE_CACHE_MAX_BYTES");
    if (std::string wait = env("FLASHCORE_CACHE_LOCK_TIMEOUT"); !wait.empty())
        config.lock_timeout = parse_lock_timeout(wait, "FLASHCORE_CACHE_LOCK_TIMEOUT");
    config.cache_paths = folder_list(env("FLASHCORE_CACHE_PATH"));
    config.remote_cache = env("FLASHCORE_REMOTE_CACHE");
    config.jit = parse_jit_mode(env("FLASHCORE_JIT"));
    if (std::string level = env("FLASHCORE_LOG_LEVEL"); !level.empty()) config.log_level = level;
    // Checked here, not only when a registry is made: every entry point that reads the
    // environment then refuses a folder that is not there, as --template-dir does.
    for (const auto& dir : folder_list(env("FLASHCORE_TEMPLATE_DIR"))) {
        std::error_code ec;
        if (!std::filesystem::is_directory(dir, ec))
            fail(Stage::validate, ErrorCode::bad_input,
                 "FLASHCORE_TEMPLATE_DIR names '" + dir + "', which does not exist or is not a directory");
        config.template_dirs.push_back(dir);
    }
    config.cuda_home = env("CUDA_HOME");
    if (std::string lib = env("FLASHCORE_DRIVER_LIBRARY"); !lib.empty()) config.driver_library = lib;
    if (std::string lib = env("FLASHCORE_NVRTC_LIBRARY"); !lib.empty()) config.nvrtc_library = lib;
    return config;
}

}  // namespace flashcore
