// Internal: the library's logger (stderr). Level set once from Config::log_level.
#pragma once

#include <spdlog/spdlog.h>

#include <string>

namespace flashcore::detail {

spdlog::logger& log();
void set_log_level(const std::string& level);  // throws Error(bad_input) for an unknown level name

}  // namespace flashcore::detail
