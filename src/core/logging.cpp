#include "core/logging.hpp"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <mutex>

#include "flashcore/error.hpp"
#include "flashcore/log_sink.hpp"

namespace flashcore {

namespace {

LogLevel level_of(spdlog::level::level_enum level) {
    switch (level) {
        case spdlog::level::trace: return LogLevel::trace;
        case spdlog::level::debug: return LogLevel::debug;
        case spdlog::level::info: return LogLevel::info;
        case spdlog::level::warn: return LogLevel::warn;
        case spdlog::level::err: return LogLevel::error;
        default: return LogLevel::critical;
    }
}

// The logger's one sink: stderr, or the host's sink once one is installed. base_sink's mutex
// serializes log calls and the switch, so a sink is never swapped mid-line.
class SwitchSink : public spdlog::sinks::base_sink<std::mutex> {
public:
    SwitchSink() : stderr_(std::make_shared<spdlog::sinks::stderr_color_sink_st>()) {
        stderr_->set_pattern("[flashcore %L] %v");
    }
    void install(LogSink sink) {
        std::lock_guard<std::mutex> lock(mutex_);
        host_ = std::move(sink);
    }

protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        if (!host_) return stderr_->log(msg);
        try {
            host_(level_of(msg.level), std::string(msg.payload.data(), msg.payload.size()));
        } catch (...) {
            // a host's sink that throws must not take the library's caller down with it
        }
    }
    void flush_() override { stderr_->flush(); }

private:
    std::shared_ptr<spdlog::sinks::stderr_color_sink_st> stderr_;
    LogSink host_;
};

std::shared_ptr<SwitchSink> switch_sink() {
    static auto sink = std::make_shared<SwitchSink>();
    return sink;
}

}  // namespace

const char* to_string(LogLevel level) {
    switch (level) {
        case LogLevel::trace: return "trace";
        case LogLevel::debug: return "debug";
        case LogLevel::info: return "info";
        case LogLevel::warn: return "warn";
        case LogLevel::error: return "error";
        case LogLevel::critical: return "critical";
    }
    return "unknown";
}

void set_log_sink(LogSink sink) { switch_sink()->install(std::move(sink)); }

namespace detail {

spdlog::logger& log() {
    static std::shared_ptr<spdlog::logger> logger = [] {
        // Not registered with spdlog: a host using spdlog itself keeps its own "flashcore" name free.
        auto created = std::make_shared<spdlog::logger>("flashcore", switch_sink());
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

}  // namespace detail

}  // namespace flashcore
