// XXH3 hashing helpers used for cache keys and entry checksums.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace flashcore {

// Streaming XXH3-128; each add() is length-prefixed so ("ab","c") and ("a","bc") differ.
class Hasher128 {
public:
    Hasher128();
    ~Hasher128();
    Hasher128(const Hasher128&) = delete;
    Hasher128& operator=(const Hasher128&) = delete;
    Hasher128& add(std::string_view bytes);
    std::string hex() const;  // 32 lowercase hex digits

private:
    void* state_;
};

std::string xxh3_128_hex(std::string_view bytes);
std::uint64_t xxh3_64(std::string_view bytes);
std::string hex64(std::uint64_t value);

}  // namespace flashcore
