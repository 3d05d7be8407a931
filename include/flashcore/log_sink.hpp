// Where the library's log lines go: stderr by default ("[flashcore W] ..."), or a sink the
// host installs (its own logger, a metrics pipe). The level filter (Config::log_level,
// FLASHCORE_LOG_LEVEL) applies either way.
#pragma once

#include <functional>
#include <string>

namespace flashcore {

enum class LogLevel { trace, debug, info, warn, error, critical };
const char* to_string(LogLevel level);

// Called for every log line that passes the level, from whichever thread logs it, one call
// at a time (the library serializes them). `message` has no prefix and no newline.
using LogSink = std::function<void(LogLevel level, const std::string& message)>;

// Installs `sink` for the whole process; an empty sink restores stderr. Thread-safe.
void set_log_sink(LogSink sink);

}  // namespace flashcore
