// Internal: small string helpers shared by the parsers of the library.
#pragma once

#include <string>
#include <vector>

namespace flashcore::detail {

// Splits on `separator`; keeps empty pieces ("a,,b" -> {"a", "", "b"}; "" -> {""}).
std::vector<std::string> split(const std::string& text, char separator);
// Without leading and trailing blanks and tabs.
std::string trim(const std::string& text);
// `text` safe to print: bytes outside printable ASCII as \xNN, cut after `max_bytes` ("...").
std::string printable(const std::string& text, std::size_t max_bytes = 200);
std::string join(const std::vector<std::string>& items, const std::string& separator);

}  // namespace flashcore::detail
