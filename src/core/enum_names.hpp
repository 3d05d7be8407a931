// Internal: one table of names per enum, read both ways (to_string, parse, JSON codecs), so an
// enum's spelling exists once.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace flashcore::detail {

template <class E>
struct EnumName {
    E value;
    const char* name;
};

template <class E, std::size_t N>
const char* name_of(E value, const EnumName<E> (&table)[N], const char* unknown = "?") {
    for (const auto& entry : table)
        if (entry.value == value) return entry.name;
    return unknown;
}

template <class E, std::size_t N>
std::optional<E> value_of(std::string_view name, const EnumName<E> (&table)[N]) {
    for (const auto& entry : table)
        if (name == entry.name) return entry.value;
    return std::nullopt;
}

// "a, b, c" for error messages.
template <class E, std::size_t N>
std::string names_of(const EnumName<E> (&table)[N]) {
    std::string out;
    for (const auto& entry : table) out += (out.empty() ? "" : ", ") + std::string(entry.name);
    return out;
}

}  // namespace flashcore::detail
