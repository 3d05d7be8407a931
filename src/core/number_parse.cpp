#include "core/number_parse.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "flashcore/error.hpp"

namespace flashcore::detail {

namespace {

[[noreturn]] void reject(const std::string& field, const std::string& text, const std::string& expected) {
    fail(Stage::validate, ErrorCode::bad_input, field + "='" + text + "' is not valid: " + expected);
}

std::string format_g(double value) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", value);
    return buf;
}

}  // namespace

std::uint64_t parse_byte_size(const std::string& text, const std::string& field) {
    const std::string expected = "write a whole number of bytes with an optional unit K, M, G or T (powers of 1024), "
                                 "at most 1073741824G (1 EiB), e.g. 512M or 2G";
    size_t i = 0;
    std::uint64_t value = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
        unsigned digit = static_cast<unsigned>(text[i] - '0');
        if (value > (kMaxByteSize - digit) / 10) reject(field, text, "out of range; " + expected);
        value = value * 10 + digit;
        ++i;
    }
    if (i == 0) reject(field, text, expected);
    const std::string unit = text.substr(i);
    unsigned shift = 0;
    if (unit.empty() || unit == "B") shift = 0;
    else if (unit == "K" || unit == "KB" || unit == "KiB") shift = 10;
    else if (unit == "M" || unit == "MB" || unit == "MiB") shift = 20;
    else if (unit == "G" || unit == "GB" || unit == "GiB") shift = 30;
    else if (unit == "T" || unit == "TB" || unit == "TiB") shift = 40;
    else reject(field, text, "unknown unit '" + unit + "'; " + expected);
    if (value > (kMaxByteSize >> shift)) reject(field, text, "out of range; " + expected);
    return value << shift;
}

double parse_number(const std::string& text, const std::string& field, double min, double max) {
    const std::string expected = "a number from " + format_g(min) + " to " + format_g(max);
    if (text.empty() || std::isspace(static_cast<unsigned char>(text[0]))) reject(field, text, expected);
    errno = 0;
    char* end = nullptr;
    double value = std::strtod(text.c_str(), &end);
    if (end != text.c_str() + text.size()) reject(field, text, expected);
    if (errno == ERANGE || !std::isfinite(value) || value < min || value > max)
        reject(field, text, "out of range; " + expected);
    return value;
}

std::int64_t parse_integer(const std::string& text, const std::string& field, std::int64_t min, std::int64_t max) {
    const std::string expected = "a whole number from " + std::to_string(min) + " to " + std::to_string(max);
    if (text.empty() || std::isspace(static_cast<unsigned char>(text[0]))) reject(field, text, expected);
    errno = 0;
    char* end = nullptr;
    long long value = std::strtoll(text.c_str(), &end, 10);
    if (end != text.c_str() + text.size()) reject(field, text, expected);
    if (errno == ERANGE || value < min || value > max) reject(field, text, "out of range; " + expected);
    return value;
}

std::chrono::milliseconds parse_duration(const std::string& text, const std::string& field, const std::string& bare_unit,
                                         std::chrono::milliseconds max) {
    struct Unit {
        const char* name;
        double ms;
    };
    static const Unit kUnits[] = {{"ms", 1}, {"s", 1e3}, {"m", 60e3}, {"min", 60e3}, {"h", 3600e3}, {"d", 86400e3}};
    const std::string expected = "a duration like 500ms, 30s, 10m, 2h or 7d (a bare number is in '" + bare_unit +
                                 "'), from 0 to " + std::to_string(max.count()) + " ms";
    size_t split = text.size();
    while (split > 0 && std::isalpha(static_cast<unsigned char>(text[split - 1]))) --split;
    std::string unit = split == text.size() ? bare_unit : text.substr(split);
    std::string number = text.substr(0, split);
    double scale = 0;
    for (const auto& u : kUnits)
        if (unit == u.name) scale = u.ms;
    if (scale == 0 || number.empty()) reject(field, text, expected);
    errno = 0;
    char* end = nullptr;
    double value = std::strtod(number.c_str(), &end);
    if (end != number.c_str() + number.size() || std::isspace(static_cast<unsigned char>(number[0])))
        reject(field, text, expected);
    // Compared in double before any integer conversion: 1e12 days must not wrap around.
    if (errno == ERANGE || !std::isfinite(value) || value < 0 || value * scale > static_cast<double>(max.count()))
        reject(field, text, "out of range; " + expected);
    return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(value * scale)));
}

}  // namespace flashcore::detail
