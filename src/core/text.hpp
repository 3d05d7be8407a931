// Internal: small string helpers shared by the parsers of the library.
#pragma once

#include <string>
#include <vector>

namespace flashcore::detail {

// Splits on `separator`; keeps empty pieces ("a,,b" -> {"a", "", "b"}; "" -> {""}).
std::vector<std::string> split(const std::string& text, char separator);
// Without leading and trailing blanks and tabs.
std::string trim(const std::string& text);
std::string join(const std::vector<std::string>& items, const std::string& separator);

}  // namespace flashcore::detail
