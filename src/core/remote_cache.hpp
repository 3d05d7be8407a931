// Internal: the remote cache tier on Redis (FLASHCORE_REMOTE_CACHE=redis://host:port/db),
// shared by a fleet. Values are entry records (core/entry_codec.hpp) verified on the way in
// — checksum, key, arch, NVRTC version — so a remote entry is never trusted blindly. A fleet
// lock key with an expiry lets N hosts compile a key once. Every call has a timeout; an outage
// or a bad entry degrades to the local tiers with one warning, never a failure or a hang, and
// the tier is tried again after a rest. hiredis is opened at run time (libhiredis.so.0.14).
// Thread-safe (one connection, calls serialized).
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "flashcore/cache_key.hpp"
#include "flashcore/kernel_cache.hpp"

namespace flashcore {

struct RemoteAddress {
    std::string host;
    int port = 6379;
    int db = 0;
    std::chrono::milliseconds timeout{500};        // connect and each command (?timeout_ms=)
    std::chrono::milliseconds retry_after{10000};  // rest after a failure (?retry_ms=)
    std::chrono::milliseconds lock_ttl{120000};    // fleet lock expiry (?lock_ttl_ms=)
};
// "redis://host[:port][/db][?timeout_ms=N&retry_ms=N&lock_ttl_ms=N]"; Error(bad_input) naming
// FLASHCORE_REMOTE_CACHE otherwise.
RemoteAddress parse_remote_url(const std::string& url);

class RemoteCache {
public:
    RemoteCache(const std::string& url, CacheStats& stats);
    ~RemoteCache();
    RemoteCache(const RemoteCache&) = delete;
    RemoteCache& operator=(const RemoteCache&) = delete;

    // Whether this build has the tier (libhiredis-dev was there when it was built).
    static bool supported();

    const std::string& url() const { return url_; }
    const RemoteAddress& address() const { return address_; }

    // The verified entry for `wanted`, or nullopt (a miss, an outage, or a rejected entry).
    std::optional<CacheEntry> get(const KeyComponents& wanted);
    bool exists(const std::string& key);
    bool put(const CacheEntry& entry);
    // Raw access for tests and tools (a planted bad entry, a listing).
    bool put_raw(const std::string& key, const std::string& value);

    // The fleet lock on `key`: a token when this caller got it, "" when another holds it.
    // `error` is set when the tier is down (the caller then compiles without it).
    std::string try_lock(const std::string& key, bool* error);
    bool locked(const std::string& key);  // another host holds the lock (false when down)
    void unlock(const std::string& key, const std::string& token);

    // The Redis key names.
    static std::string entry_name(const std::string& key);
    static std::string lock_name(const std::string& key);

private:
    struct Connection;
    struct Reply;
    // Runs one command; nullopt when the tier is down or the call failed (then it rests).
    std::optional<Reply> command(std::initializer_list<std::string> args);
    void went_down(const std::string& why);
    void warn_once(const std::string& topic, const std::string& message);

    std::string url_;
    RemoteAddress address_;
    CacheStats& stats_;
    std::mutex mutex_;
    std::unique_ptr<Connection> connection_;
    std::chrono::steady_clock::time_point rest_until_{};
    bool down_ = false;
    std::set<std::string> warned_;
};

}  // namespace flashcore
