#include "flashcore/error.hpp"

#include "core/enum_names.hpp"

namespace flashcore {

namespace {
using S = Stage;
using C = ErrorCode;
const detail::EnumName<Stage> kStages[] = {
    {S::validate, "validate"}, {S::render, "render"}, {S::compile, "compile"}, {S::load, "load"}, {S::launch, "launch"},
    {S::cache, "cache"},       {S::driver, "driver"}, {S::verify, "verify"},   {S::io, "io"}};
const detail::EnumName<ErrorCode> kCodes[] = {
    {C::bad_input, "bad_input"}, {C::bad_problem, "bad_problem"}, {C::compile_failed, "compile_failed"},
    {C::warning_promoted, "warning_promoted"}, {C::resource_exceeded, "resource_exceeded"},
    {C::jit_forbidden, "jit_forbidden"}, {C::no_driver, "no_driver"}, {C::no_compiler, "no_compiler"}, {C::no_device, "no_device"},
    {C::driver_error, "driver_error"}, {C::launch_fault, "launch_fault"}, {C::context_poisoned, "context_poisoned"},
    {C::timeout, "timeout"}, {C::cache_io, "cache_io"}, {C::internal, "internal"}};
}  // namespace

const char* to_string(Stage stage) { return detail::name_of(stage, kStages, "unknown"); }
const char* to_string(ErrorCode code) { return detail::name_of(code, kCodes, "unknown"); }

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
