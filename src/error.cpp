#include "flashcore/error.hpp"

namespace flashcore {

const char* to_string(Stage stage) {
    switch (stage) {
        case Stage::validate: return "validate";
        case Stage::render: return "render";
        case Stage::compile: return "compile";
        case Stage::load: return "load";
        case Stage::launch: return "launch";
        case Stage::cache: return "cache";
        case Stage::driver: return "driver";
        case Stage::verify: return "verify";
        case Stage::io: return "io";
    }
    return "unknown";
}

const char* to_string(ErrorCode code) {
    switch (code) {
        case ErrorCode::bad_input: return "bad_input";
        case ErrorCode::bad_problem: return "bad_problem";
        case ErrorCode::compile_failed: return "compile_failed";
        case ErrorCode::warning_promoted: return "warning_promoted";
        case ErrorCode::resource_exceeded: return "resource_exceeded";
        case ErrorCode::jit_forbidden: return "jit_forbidden";
        case ErrorCode::no_driver: return "no_driver";
        case ErrorCode::no_device: return "no_device";
        case ErrorCode::driver_error: return "driver_error";
        case ErrorCode::launch_fault: return "launch_fault";
        case ErrorCode::context_poisoned: return "context_poisoned";
        case ErrorCode::timeout: return "timeout";
        case ErrorCode::cache_io: return "cache_io";
        case ErrorCode::internal: return "internal";
    }
    return "unknown";
}

namespace {
std::string compose(const ErrorInfo& info) {
    std::string text = info.message;
    if (!info.variant.empty()) text += " [variant " + info.variant + "]";
    if (!info.arch.empty()) text += " [arch " + info.arch + "]";
    return text;
}
}  // namespace

Error::Error(ErrorInfo info) : std::runtime_error(compose(info)), info_(std::move(info)) {}

bool Error::is_usage_error() const noexcept {
    return info_.code == ErrorCode::bad_input || info_.code == ErrorCode::bad_problem ||
           info_.code == ErrorCode::resource_exceeded;
}

void fail(Stage stage, ErrorCode code, std::string message, std::string variant, std::string arch) {
    ErrorInfo info;
    info.stage = stage;
    info.code = code;
    info.message = std::move(message);
    info.variant = std::move(variant);
    info.arch = std::move(arch);
    throw Error(std::move(info));
}

}  // namespace flashcore
