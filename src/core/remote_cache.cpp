#include "core/remote_cache.hpp"

#include <dlfcn.h>
#include <signal.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstring>
#include <random>
#include <vector>

#include "core/entry_codec.hpp"
#include "core/logging.hpp"
#include "core/number_parse.hpp"
#include "core/text.hpp"
#include "flashcore/error.hpp"

#ifdef FLASHCORE_HAVE_HIREDIS
#include <hiredis/hiredis.h>
#endif

namespace flashcore {

namespace {

const char* kField = "FLASHCORE_REMOTE_CACHE";

#define FLASHCORE_STR2(x) #x
#define FLASHCORE_STR(x) FLASHCORE_STR2(x)

#ifdef FLASHCORE_HAVE_HIREDIS
// The entry points of the libhiredis these headers belong to (same soname: same layout).
struct HiredisApi {
    decltype(&::redisConnectWithTimeout) connect = nullptr;
    decltype(&::redisSetTimeout) set_timeout = nullptr;
    decltype(&::redisCommandArgv) command_argv = nullptr;
    decltype(&::freeReplyObject) free_reply = nullptr;
    decltype(&::redisFree) free_context = nullptr;
};

const HiredisApi* hiredis(std::string* why) {
    static std::once_flag once;
    static HiredisApi api;
    static std::string failure;
    std::call_once(once, [] {
        const std::string soname = "libhiredis.so." FLASHCORE_STR(HIREDIS_SONAME);
        void* handle = dlopen(soname.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (!handle) {
            const char* error = dlerror();
            failure = error ? error : "cannot open " + soname;
            return;
        }
        api.connect = reinterpret_cast<decltype(api.connect)>(dlsym(handle, "redisConnectWithTimeout"));
        api.set_timeout = reinterpret_cast<decltype(api.set_timeout)>(dlsym(handle, "redisSetTimeout"));
        api.command_argv = reinterpret_cast<decltype(api.command_argv)>(dlsym(handle, "redisCommandArgv"));
        api.free_reply = reinterpret_cast<decltype(api.free_reply)>(dlsym(handle, "freeReplyObject"));
        api.free_context = reinterpret_cast<decltype(api.free_context)>(dlsym(handle, "redisFree"));
        if (!api.connect || !api.set_timeout || !api.command_argv || !api.free_reply || !api.free_context)
            failure = soname + " lacks an entry point FlashCore uses";
    });
    if (!failure.empty()) {
        *why = "hiredis cannot be opened (" + failure + "; install libhiredis0.14)";
        return nullptr;
    }
    return &api;
}

timeval to_timeval(std::chrono::milliseconds ms) {
    timeval tv{};
    tv.tv_sec = ms.count() / 1000;
    tv.tv_usec = (ms.count() % 1000) * 1000;
    return tv;
}

// A write to a connection the server closed raises SIGPIPE, which would kill the host: block
// it in this thread for the call, and swallow one that became pending meanwhile.
class SigpipeGuard {
public:
    SigpipeGuard() {
        sigemptyset(&pipe_);
        sigaddset(&pipe_, SIGPIPE);
        sigset_t pending;
        sigpending(&pending);
        was_pending_ = sigismember(&pending, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
    }
    ~SigpipeGuard() {
        sigset_t pending;
        sigpending(&pending);
        if (!was_pending_ && sigismember(&pending, SIGPIPE)) {
            timespec zero{};
            sigtimedwait(&pipe_, nullptr, &zero);
        }
        pthread_sigmask(SIG_SETMASK, &old_, nullptr);
    }

private:
    sigset_t pipe_{}, old_{};
    bool was_pending_ = false;
};
#endif

std::string fleet_token() {
    char host[256] = {0};
    ::gethostname(host, sizeof host - 1);
    std::random_device rd;
    return std::string(host) + ":" + std::to_string(::getpid()) + ":" + std::to_string(rd()) + std::to_string(rd());
}

}  // namespace

RemoteAddress parse_remote_url(const std::string& url) {
    const std::string form = "write it as redis://host[:port][/db][?timeout_ms=N&retry_ms=N&lock_ttl_ms=N]";
    const std::string scheme = "redis://";
    if (url.rfind(scheme, 0) != 0)
        fail(Stage::validate, ErrorCode::bad_input, std::string(kField) + "='" + url + "' is not a redis:// URL; " + form);
    std::string rest = url.substr(scheme.size()), query;
    if (size_t q = rest.find('?'); q != std::string::npos) query = rest.substr(q + 1), rest = rest.substr(0, q);
    RemoteAddress address;
    if (size_t slash = rest.find('/'); slash != std::string::npos) {
        std::string db = rest.substr(slash + 1);
        rest = rest.substr(0, slash);
        if (!db.empty()) address.db = static_cast<int>(detail::parse_integer(db, std::string(kField) + " database", 0, 1 << 20));
    }
    if (size_t colon = rest.rfind(':'); colon != std::string::npos) {
        address.port = static_cast<int>(detail::parse_integer(rest.substr(colon + 1), std::string(kField) + " port", 1, 65535));
        rest = rest.substr(0, colon);
    }
    if (rest.empty()) fail(Stage::validate, ErrorCode::bad_input, std::string(kField) + "='" + url + "' names no host; " + form);
    address.host = rest;
    for (const auto& pair : detail::split(query, '&')) {
        if (pair.empty()) continue;
        size_t eq = pair.find('=');
        std::string name = pair.substr(0, eq), value = eq == std::string::npos ? "" : pair.substr(eq + 1);
        auto ms = [&](std::int64_t max) {
            return std::chrono::milliseconds(detail::parse_integer(value, std::string(kField) + " " + name, 1, max));
        };
        if (name == "timeout_ms") address.timeout = ms(60000);
        else if (name == "retry_ms") address.retry_after = ms(3600000);
        else if (name == "lock_ttl_ms") address.lock_ttl = ms(86400000);
        else
            fail(Stage::validate, ErrorCode::bad_input,
                 std::string(kField) + " has an unknown option '" + name + "'; " + form);
    }
    return address;
}

struct RemoteCache::Reply {
    enum class Type { string, array, integer, nil, status, error } type = Type::nil;
    long long integer = 0;
    std::string text;
};

struct RemoteCache::Connection {
#ifdef FLASHCORE_HAVE_HIREDIS
    const HiredisApi* api = nullptr;
    redisContext* context = nullptr;
    ~Connection() {
        if (context) api->free_context(context);
    }
#endif
};

RemoteCache::RemoteCache(const std::string& url, CacheStats& stats)
    : url_(url), address_(parse_remote_url(url)), stats_(stats) {}

RemoteCache::~RemoteCache() = default;

bool RemoteCache::supported() {
#ifdef FLASHCORE_HAVE_HIREDIS
    return true;
#else
    return false;
#endif
}

std::string RemoteCache::entry_name(const std::string& key) { return "flashcore:v1:entry:" + key; }
std::string RemoteCache::lock_name(const std::string& key) { return "flashcore:v1:lock:" + key; }

void RemoteCache::warn_once(const std::string& topic, const std::string& message) {
    if (warned_.insert(topic).second) detail::log().warn("{}", message);
}

void RemoteCache::went_down(const std::string& why) {
    ++stats_.remote_errors;
    connection_.reset();
    down_ = true;
    rest_until_ = std::chrono::steady_clock::now() + address_.retry_after;
    warn_once("down", "remote cache " + url_ + " is unavailable (" + why + "); using the local cache tiers, trying it "
                      "again every " + std::to_string(address_.retry_after.count()) + " ms");
}

std::optional<RemoteCache::Reply> RemoteCache::command(std::initializer_list<std::string> args) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (down_ && std::chrono::steady_clock::now() < rest_until_) return std::nullopt;
#ifndef FLASHCORE_HAVE_HIREDIS
    went_down("this build has no Redis support: libhiredis-dev was not installed when it was built");
    return std::nullopt;
#else
    if (!connection_) {
        std::string why;
        const HiredisApi* api = hiredis(&why);
        if (!api) return went_down(why), std::nullopt;
        auto connection = std::make_unique<Connection>();
        connection->api = api;
        SigpipeGuard guard;
        connection->context = api->connect(address_.host.c_str(), address_.port, to_timeval(address_.timeout));
        if (!connection->context || connection->context->err) {
            std::string error = connection->context ? connection->context->errstr : "out of memory";
            return went_down("cannot connect to " + address_.host + ":" + std::to_string(address_.port) + ": " + error),
                   std::nullopt;
        }
        api->set_timeout(connection->context, to_timeval(address_.timeout));
        connection_ = std::move(connection);
        if (address_.db != 0) {
            const char* argv[] = {"SELECT", nullptr};
            std::string db = std::to_string(address_.db);
            argv[1] = db.c_str();
            size_t lens[] = {6, db.size()};
            auto* reply = static_cast<redisReply*>(api->command_argv(connection_->context, 2, argv, lens));
            bool ok = reply && reply->type == REDIS_REPLY_STATUS;
            if (reply) api->free_reply(reply);
            if (!ok) return went_down("SELECT " + db + " failed"), std::nullopt;
        }
        if (down_) detail::log().info("remote cache {} is reachable again", url_);
        down_ = false;
    }
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& a : args) argv.push_back(a.data()), lens.push_back(a.size());
    SigpipeGuard guard;
    const HiredisApi& api = *connection_->api;
    auto* reply = static_cast<redisReply*>(
        api.command_argv(connection_->context, static_cast<int>(argv.size()), argv.data(), lens.data()));
    if (!reply) {
        std::string error = connection_->context->errstr;
        return went_down(std::string(*args.begin()) + " failed: " + (error.empty() ? "no reply" : error)), std::nullopt;
    }
    Reply out;
    switch (reply->type) {
        case REDIS_REPLY_STRING: out.type = Reply::Type::string; break;
        case REDIS_REPLY_ARRAY: out.type = Reply::Type::array; break;
        case REDIS_REPLY_INTEGER: out.type = Reply::Type::integer; break;
        case REDIS_REPLY_STATUS: out.type = Reply::Type::status; break;
        case REDIS_REPLY_ERROR: out.type = Reply::Type::error; break;
        default: out.type = Reply::Type::nil; break;
    }
    out.integer = reply->integer;
    if (reply->str) out.text.assign(reply->str, reply->len);
    api.free_reply(reply);
    if (out.type == Reply::Type::error) {
        ++stats_.remote_errors;
        warn_once("error:" + std::string(*args.begin()),
                  "remote cache " + url_ + " refused " + std::string(*args.begin()) + ": " + detail::printable(out.text));
        return std::nullopt;
    }
    return out;
#endif
}

std::optional<CacheEntry> RemoteCache::get(const KeyComponents& wanted) {
    const std::string key = wanted.key();
    auto reply = command({"GET", entry_name(key)});
    if (!reply || reply->type != Reply::Type::string) return std::nullopt;
    std::string damage;
    size_t pos = 0;
    if (auto record = detail::decode_record(reply->text, pos); !record || pos != reply->text.size()) {
        damage = "not one entry record";
    } else {
        detail::DecodedEntry decoded = detail::decode_entry(record->manifest, record->cubin, key);
        if (!decoded.entry) damage = decoded.damage;
        else if (decoded.entry->components.arch != wanted.arch || decoded.entry->components.nvrtc_version != wanted.nvrtc_version)
            damage = "built for " + decoded.entry->components.arch + " with NVRTC " + decoded.entry->components.nvrtc_version;
        else
            return std::move(decoded.entry);
    }
    ++stats_.remote_rejected;
    std::lock_guard<std::mutex> lock(mutex_);
    warn_once("rejected:" + key, "remote cache entry " + key + " at " + url_ + " failed verification (" + damage +
                                     "); ignored, the local compile replaces it");
    return std::nullopt;
}

bool RemoteCache::exists(const std::string& key) {
    auto reply = command({"EXISTS", entry_name(key)});
    return reply && reply->type == Reply::Type::integer && reply->integer > 0;
}

bool RemoteCache::put(const CacheEntry& entry) { return put_raw(entry.key, detail::encode_record(entry)); }

bool RemoteCache::put_raw(const std::string& key, const std::string& value) {
    auto reply = command({"SET", entry_name(key), value});
    return reply && reply->type == Reply::Type::status;
}

std::string RemoteCache::try_lock(const std::string& key, bool* error) {
    std::string token = fleet_token();
    auto reply = command({"SET", lock_name(key), token, "NX", "PX", std::to_string(address_.lock_ttl.count())});
    *error = !reply;
    return reply && reply->type == Reply::Type::status ? token : std::string();
}

bool RemoteCache::locked(const std::string& key) {
    auto reply = command({"EXISTS", lock_name(key)});
    return reply && reply->type == Reply::Type::integer && reply->integer > 0;
}

void RemoteCache::unlock(const std::string& key, const std::string& token) {
    // Only our own lock: after an expiry another host may hold it.
    static const std::string kScript =
        "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";
    command({"EVAL", kScript, "1", lock_name(key), token});
}

}  // namespace flashcore
