#include "core/text.hpp"

namespace flashcore::detail {

std::vector<std::string> split(const std::string& text, char separator) {
    std::vector<std::string> out;
    std::size_t pos = 0;
    for (;;) {
        std::size_t next = text.find(separator, pos);
        out.push_back(text.substr(pos, next == std::string::npos ? std::string::npos : next - pos));
        if (next == std::string::npos) return out;
        pos = next + 1;
    }
}

std::string trim(const std::string& text) {
    std::size_t b = text.find_first_not_of(" \t");
    std::size_t e = text.find_last_not_of(" \t");
    return b == std::string::npos ? std::string() : text.substr(b, e - b + 1);
}

std::string join(const std::vector<std::string>& items, const std::string& separator) {
    std::string out;
    for (std::size_t i = 0; i < items.size(); ++i) out += (i ? separator : "") + items[i];
    return out;
}

std::string printable(const std::string& text, std::size_t max_bytes) {
    static const char kHex[] = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < text.size() && i < max_bytes; ++i) {
        unsigned char c = static_cast<unsigned char>(text[i]);
        if (c >= 0x20 && c < 0x7f) out += static_cast<char>(c);
        else (out += "\\x") += std::string{kHex[c >> 4], kHex[c & 15]};
    }
    if (text.size() > max_bytes) out += "...";
    return out;
}

}  // namespace flashcore::detail
