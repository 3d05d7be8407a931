#include "core/logging.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

#include "flashcore/error.hpp"

namespace flashcore::detail {

spdlog::logger& log() {
    static std::shared_ptr<spdlog::logger> logger = [] {
        auto created = spdlog::stderr_color_mt("flashcore");
        created->set_pattern("[flashcore %L] %v");
        created->set_level(spdlog::level::warn);
        return created;
    }();
    return *logger;
}

void set_log_level(const std::string& level) {
    auto parsed = spdlog::level::from_str(level);
    // from_str maps unknown names to "off"; only accept "off" when it was asked for.
    if (parsed == spdlog::level::off && level != "off")
        fail(Stage::validate, ErrorCode::bad_input,
             "log level '" + level + "' is not one of: trace, debug, info, warn, error, critical, off");
    log().set_level(parsed);
}

}  // namespace flashcore::detail
