#include "flashcore/config.hpp"

#include <cctype>
#include <cstdlib>

#include "core/text.hpp"
#include "flashcore/error.hpp"

namespace flashcore {

namespace {
std::string env(const char* name) {
    const char* value = std::getenv(name);
    return value ? value : "";
}
}  // namespace

JitMode parse_jit_mode(const std::string& text) {
    if (text.empty() || text == "normal" || text == "auto") return JitMode::normal;
    if (text == "forbid") return JitMode::forbid;
    if (text == "always") return JitMode::always;
    fail(Stage::validate, ErrorCode::bad_input, "FLASHCORE_JIT='" + text + "' is not one of: normal, forbid, always");
}

std::uint64_t parse_byte_size(const std::string& text) {
    std::string digits;
    size_t i = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) digits += text[i++];
    std::string unit = text.substr(i);
    std::uint64_t scale = 1;
    if (unit == "K" || unit == "KB" || unit == "KiB") scale = 1ull << 10;
    else if (unit == "M" || unit == "MB" || unit == "MiB") scale = 1ull << 20;
    else if (unit == "G" || unit == "GB" || unit == "GiB") scale = 1ull << 30;
    else if (!unit.empty() && unit != "B") digits.clear();
    if (digits.empty())
        fail(Stage::validate, ErrorCode::bad_input, "byte size '" + text + "' is not a number with an optional K/M/G unit");
    return std::stoull(digits) * scale;
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
    if (std::string cap = env("FLASHCORE_CACHE_MAX_BYTES"); !cap.empty()) config.cache_max_bytes = parse_byte_size(cap);
    config.jit = parse_jit_mode(env("FLASHCORE_JIT"));
    if (std::string level = env("FLASHCORE_LOG_LEVEL"); !level.empty()) config.log_level = level;
    for (const auto& dir : detail::split(env("FLASHCORE_TEMPLATE_DIR"), ':'))
        if (!dir.empty()) config.template_dirs.push_back(dir);
    config.cuda_home = env("CUDA_HOME");
    if (std::string lib = env("FLASHCORE_DRIVER_LIBRARY"); !lib.empty()) config.driver_library = lib;
    return config;
}

}  // namespace flashcore
