#include "flashcore/selection/verdict.hpp"

#include "core/enum_names.hpp"
#include "flashcore/error.hpp"

namespace flashcore {

namespace {
using V = Verdict;
const detail::EnumName<Verdict> kVerdicts[] = {
    {V::ok, "ok"},           {V::compile_error, "compile_error"}, {V::resource_error, "resource_error"},
    {V::launch_fault, "launch_fault"}, {V::mismatch, "mismatch"}, {V::timeout, "timeout"}, {V::invalid, "invalid"},
    {V::no_driver, "no_driver"},     {V::no_device, "no_device"}};
}  // namespace

const char* to_string(Verdict verdict) { return detail::name_of(verdict, kVerdicts); }

Verdict parse_verdict(const std::string& text) {
    if (auto v = detail::value_of(text, kVerdicts)) return *v;
    fail(Stage::validate, ErrorCode::bad_input, "unknown verdict '" + text + "'");
}

}  // namespace flashcore
