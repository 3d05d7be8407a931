// The Redis tier (issue 13): a redis-server started here on 127.0.0.1 and a free port. Several
// processes with separate disk caches compile each key once; an outage, a hung server and a
// planted bad entry degrade to the local tiers with one warning, never a failure or a hang.
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "core/cache_counters.hpp"
#include "core/entry_codec.hpp"
#include "core/remote_cache.hpp"
#include "flashcore/log_sink.hpp"
#include "flashcore/runtime.hpp"
#include "test_support.hpp"

using namespace flashcore;

namespace {

const char* kVariants[] = {"toy_attention:threads=64", "toy_attention:threads=128", "toy_attention:threads=256",
                           "toy_attention:threads=128,smem_kb=40"};
const Target kArch = Target::parse("sm_89");

Config remote_config(const std::string& cache_dir, const std::string& url) {
    Config c = test::toy_config(cache_dir);
    c.remote_cache = url;
    c.log_level = "warn";
    return c;
}

// Collects the library's warnings while it lives (and keeps them off stderr).
struct Warnings {
    std::mutex mutex;
    std::vector<std::string> lines;
    Warnings() {
        set_log_sink([this](LogLevel level, const std::string& message) {
            if (level < LogLevel::warn) return;
            std::lock_guard<std::mutex> lock(mutex);
            lines.push_back(message);
        });
    }
    ~Warnings() { set_log_sink(nullptr); }
    size_t count(const std::string& text) {
        std::lock_guard<std::mutex> lock(mutex);
        size_t n = 0;
        for (const auto& l : lines) n += l.find(text) != std::string::npos;
        return n;
    }
};

#define REQUIRE_REDIS()                                                                     \
    std::string why_no_redis = "this build has no Redis tier (libhiredis-dev was not installed)"; \
    if (!RemoteCache::supported() || !test::RedisServer::available(&why_no_redis)) {          \
        WARN("skipped: " << why_no_redis);              \
        return;                                         \
    }

}  // namespace

TEST_CASE("remote URLs are parsed and checked", "[remote]") {
    RemoteAddress a = parse_remote_url("redis://cache.example:6380/2?timeout_ms=250&lock_ttl_ms=5000");
    CHECK(a.host == "cache.example");
    CHECK(a.port == 6380);
    CHECK(a.db == 2);
    CHECK(a.timeout == std::chrono::milliseconds(250));
    CHECK(a.lock_ttl == std::chrono::milliseconds(5000));
    CHECK(parse_remote_url("redis://h").port == 6379);
    for (const char* bad : {"http://h:1", "redis://", "redis://h:99999", "redis://h:1/x", "redis://h?nope=1"}) {
        INFO(bad);
        Error e = test::error_from([&] { parse_remote_url(bad); });
        CHECK(e.is_usage_error());
        CHECK_THAT(e.what(), Catch::Contains("FLASHCORE_REMOTE_CACHE"));
    }
}

TEST_CASE("3 processes with separate disk caches sharing one Redis compile each key once", "[remote][multiprocess]") {
    REQUIRE_REDIS();
    test::RedisServer redis;
    constexpr int kChildren = 3;
    test::TempDir dir;
    int results[2];
    REQUIRE(::pipe(results) == 0);
    std::vector<pid_t> children;
    for (int c = 0; c < kChildren; ++c) {
        pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            ::close(results[0]);
            int code = 0;
            try {
                Runtime rt(remote_config(dir.str() + "/host" + std::to_string(c), redis.url()));
                // Each host walks the variants from a different start, so they collide in the middle.
                for (int i = 0; i < 4; ++i) {
                    int v = (i + c) % 4;
                    CacheLookup r = rt.build(rt.variant(kVariants[v]), kArch);
                    char line[2] = {static_cast<char>('0' + v), r.source == CacheSource::compiled ? 'C'
                                                                : r.source == CacheSource::remote  ? 'R'
                                                                                                   : 'O'};
                    if (::write(results[1], line, 2) != 2) code = 2;
                }
            } catch (const std::exception& e) {
                std::fprintf(stderr, "child: %s\n", e.what());
                code = 1;
            }
            _exit(code);
        }
        children.push_back(pid);
    }
    ::close(results[1]);
    for (pid_t pid : children) {
        int status = 0;
        REQUIRE(::waitpid(pid, &status, 0) == pid);
        CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
    }
    int compiled[4] = {0, 0, 0, 0}, remote = 0, other = 0;
    char pair[2];
    while (::read(results[0], pair, 2) == 2) {
        if (pair[1] == 'C') ++compiled[pair[0] - '0'];
        else if (pair[1] == 'R') ++remote;
        else ++other;
    }
    ::close(results[0]);
    for (int v = 0; v < 4; ++v) {
        INFO(kVariants[v]);
        CHECK(compiled[v] == 1);
    }
    CHECK(remote == kChildren * 4 - 4);
    CHECK(other == 0);
    std::printf("redis fleet: %d processes x 4 variants: %d compiles, %d remote hits\n", kChildren,
                compiled[0] + compiled[1] + compiled[2] + compiled[3], remote);
    std::fflush(stdout);  // before any later fork copies the buffer
}

TEST_CASE("Redis killed mid-run and restarted: no failure, one warning, no corrupt entry", "[remote]") {
    REQUIRE_REDIS();
    test::RedisServer redis;
    test::TempDir dir;
    Warnings warnings;
    Runtime rt(remote_config(dir.str(), redis.url()));
    CHECK(rt.build(rt.variant(kVariants[0]), kArch).source == CacheSource::compiled);
    CHECK(rt.cache().stats().remote_stores == 1);
    redis.kill();
    auto start = std::chrono::steady_clock::now();
    CHECK(rt.build(rt.variant(kVariants[1]), kArch).source == CacheSource::compiled);
    CHECK(rt.build(rt.variant(kVariants[2]), kArch).source == CacheSource::compiled);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(20));
    CHECK(rt.cache().stats().remote_errors >= 1);
    CHECK(warnings.count("is unavailable") == 1);
    redis.start();  // a fresh, empty server on the same port
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the tier's rest (retry_ms=200)
    CacheLookup after = rt.build(rt.variant(kVariants[3]), kArch);
    CHECK(after.source == CacheSource::compiled);
    CHECK(rt.cache().stats().remote_stores == 2);
    CHECK(warnings.count("is unavailable") == 1);
    // What the server holds now verifies.
    CacheStats stats;
    RemoteCache check(redis.url(), stats);
    auto entry = check.get(after.entry->components);
    REQUIRE(entry);
    CHECK(entry->compiled.cubin == after.entry->compiled.cubin);
    CHECK(stats.remote_rejected == 0);
}

TEST_CASE("a hung Redis costs a timeout, not a hang", "[remote]") {
    REQUIRE_REDIS();
    test::RedisServer redis;
    test::TempDir dir;
    Warnings warnings;
    Runtime rt(remote_config(dir.str(), redis.url("timeout_ms=200&retry_ms=60000")));
    redis.pause(true);
    auto start = std::chrono::steady_clock::now();
    CHECK(rt.build(rt.variant(kVariants[0]), kArch).source == CacheSource::compiled);
    CHECK(rt.build(rt.variant(kVariants[1]), kArch).source == CacheSource::compiled);
    auto took = std::chrono::steady_clock::now() - start;
    redis.pause(false);
    CHECK(took < std::chrono::seconds(15));
    CHECK(warnings.count("is unavailable") == 1);
}

TEST_CASE("a planted bad remote entry is rejected and replaced", "[remote]") {
    REQUIRE_REDIS();
    test::RedisServer redis;
    test::TempDir dir;
    Warnings warnings;
    KeyComponents wanted;
    std::string real_cubin;
    {
        Runtime local(test::toy_config(dir.str() + "/probe"));
        wanted = local.cache().key_components(local.variant(kVariants[0]), {}, kArch);
    }
    CacheStats stats;
    RemoteCache plant(redis.url(), stats);
    REQUIRE(plant.put_raw(wanted.key(), "12 3\nnot an entry!xyz"));
    Runtime rt(remote_config(dir.str() + "/host", redis.url()));
    CacheLookup r = rt.build(rt.variant(kVariants[0]), kArch);
    CHECK(r.source == CacheSource::compiled);
    CHECK(rt.cache().stats().remote_rejected >= 1);
    CHECK(warnings.count("failed verification") == 1);
    auto replaced = plant.get(wanted);
    REQUIRE(replaced);
    CHECK(replaced->compiled.cubin == r.entry->compiled.cubin);
    // An entry for another arch under this key's name is refused too.
    Runtime other(test::toy_config(dir.str() + "/other"));
    CacheLookup sm90 = other.build(other.variant(kVariants[0]), Target::parse("sm_90"));
    REQUIRE(plant.put_raw(wanted.key(), detail::encode_record(*sm90.entry)));
    CHECK_FALSE(plant.get(wanted));
}

TEST_CASE("the fleet lock: a host waits for another host's compile and takes its entry", "[remote]") {
    REQUIRE_REDIS();
    test::RedisServer redis;
    test::TempDir dir;
    CacheStats stats;
    RemoteCache other_host(redis.url(), stats);
    Runtime compiler(test::toy_config(dir.str() + "/compiler"));
    CacheLookup made = compiler.build(compiler.variant(kVariants[1]), kArch);
    bool down = false;
    const std::string token = other_host.try_lock(made.entry->key, &down);
    REQUIRE_FALSE(token.empty());
    std::thread finisher([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(400));
        other_host.put(*made.entry);
        other_host.unlock(made.entry->key, token);
    });
    Runtime rt(remote_config(dir.str() + "/waiter", redis.url()));
    CacheLookup r = rt.build(rt.variant(kVariants[1]), kArch);
    finisher.join();
    CHECK(r.source == CacheSource::remote);
    CHECK(rt.cache().stats().compiles == 0);
    CHECK(rt.cache().stats().lock_waits == 1);

    // A lock that outlives FLASHCORE_CACHE_LOCK_TIMEOUT: compile without it.
    Config config = remote_config(dir.str() + "/impatient", redis.url());
    config.lock_timeout = std::chrono::milliseconds(300);
    Runtime impatient(config);
    Variant v = impatient.variant(kVariants[2]);
    const std::string key = impatient.cache().key_components(v, {}, kArch).key();
    REQUIRE_FALSE(other_host.try_lock(key, &down).empty());
    CHECK(impatient.build(v, kArch).source == CacheSource::compiled);
    CHECK(impatient.cache().stats().lock_timeouts == 1);
}

TEST_CASE("counters by tier reach the library and the cache folder", "[remote][observability]") {
    REQUIRE_REDIS();
    test::RedisServer redis;
    test::TempDir dir;
    {
        Runtime rt(remote_config(dir.str() + "/a", redis.url()));
        rt.build(rt.variant(kVariants[0]), kArch);
        rt.build(rt.variant(kVariants[0]), kArch);
        CacheCounters c = rt.cache().stats().snapshot();
        CHECK(c.compiles == 1);
        CHECK(c.memory_hits == 1);
        CHECK(c.misses == 1);
        CHECK(c.remote_stores == 1);
        CHECK(c.compile_ms > 0);
    }
    Runtime b(remote_config(dir.str() + "/b", redis.url()));
    CHECK(b.build(b.variant(kVariants[0]), kArch).source == CacheSource::remote);
    CHECK(b.cache().stats().snapshot().remote_hits == 1);
    // The first host's counters were added to its folder when it went away.
    DiskCache folder(dir.str() + "/a", 1ull << 30);
    CacheCounters summed = detail::read_counters(folder);
    CHECK(summed.compiles == 1);
    CHECK(summed.memory_hits == 1);
    CHECK(summed.remote_stores == 1);
}
