#include "flashcore/hash.hpp"

#define XXH_INLINE_ALL  // header-only: no libxxhash.so needed where the binary runs
#include <xxhash.h>

#include <cstdio>

namespace flashcore {

Hasher128::Hasher128() : state_(XXH3_createState()) { XXH3_128bits_reset(static_cast<XXH3_state_t*>(state_)); }
Hasher128::~Hasher128() { XXH3_freeState(static_cast<XXH3_state_t*>(state_)); }

Hasher128& Hasher128::add(std::string_view bytes) {
    std::uint64_t length = bytes.size();
    XXH3_128bits_update(static_cast<XXH3_state_t*>(state_), &length, sizeof length);
    XXH3_128bits_update(static_cast<XXH3_state_t*>(state_), bytes.data(), bytes.size());
    return *this;
}

std::string Hasher128::hex() const {
    XXH128_hash_t h = XXH3_128bits_digest(static_cast<XXH3_state_t*>(state_));
    char buf[33];
    std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(h.high64),
                  static_cast<unsigned long long>(h.low64));
    return buf;
}

std::string xxh3_128_hex(std::string_view bytes) {
    Hasher128 h;
    h.add(bytes);
    return h.hex();
}

std::uint64_t xxh3_64(std::string_view bytes) { return XXH3_64bits(bytes.data(), bytes.size()); }

std::string hex64(std::uint64_t value) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(value));
    return buf;
}

}  // namespace flashcore
