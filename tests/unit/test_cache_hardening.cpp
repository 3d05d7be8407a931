// Fault injection for the disk cache (issue 12): read-only folders, maintenance verbs that
// must do what they report, range-checked sizes and ages, debris and quarantine reclaimed, the
// cap under concurrency, locks that survive `clear`, the lock wait limit, garbled manifests,
// and the pattern expansion limit.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/disk_cache_layout.hpp"
#include "core/entry_codec.hpp"
#include "core/number_parse.hpp"
#include "flashcore/config.hpp"
#include "flashcore/disk_cache.hpp"
#include "flashcore/runtime.hpp"
#include "test_support.hpp"

using namespace flashcore;
namespace fs = std::filesystem;

namespace {

size_t cubins_under(const fs::path& dir) {
    size_t n = 0;
    for (const auto& f : fs::recursive_directory_iterator(dir))
        if (f.path().filename() == "kernel.cubin") ++n;
    return n;
}

// A pid that is certainly not running: a child that has been reaped.
pid_t dead_pid() {
    pid_t pid = ::fork();
    if (pid == 0) _exit(0);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return pid;
}

void age(const fs::path& path, std::chrono::hours by) {
    fs::last_write_time(path, fs::file_time_type::clock::now() - by);
}

std::string read_all(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace

TEST_CASE("a read-only cache serves its hits; verify, prune and clear do what they report", "[hardening][read_only]") {
    test::TempDir dir;
    std::string toy_key;
    {
        DiskCache disk(dir.str(), 1ull << 30);
        for (int i = 0; i < 3; ++i) REQUIRE(disk.store(test::fake_cache_entry("toy_attention:n=" + std::to_string(i))));
        Runtime rt(test::toy_config(dir.str()));
        toy_key = rt.build(rt.variant("toy_attention"), Target::parse("sm_89")).entry->key;
    }
    const size_t before = cubins_under(dir.path());
    REQUIRE(before == 4);
    const std::string key0 = test::fake_cache_entry("toy_attention:n=0").key;
    std::string skip;
    int rc = test::run_read_only(dir.str(), [&] {
        DiskCache disk(dir.str(), 1ull << 30);
        if (!disk.enabled() || disk.writable()) return 1;
        if (!disk.load(key0)) return 2;  // item 1: hits are served
        if (disk.store(test::fake_cache_entry("toy_attention:n=9"))) return 3;
        VerifyReport v = disk.verify();  // item 2: nothing good reported damaged
        if (v.checked != 4 || !v.damaged.empty() || !v.quarantined.empty()) return 4;
        try {  // item 3: no removals claimed that never happened
            disk.clear();
            return 5;
        } catch (const Error& e) {
            if (e.code() != ErrorCode::cache_io || std::string(e.what()).find("nothing was removed") == std::string::npos)
                return 6;
        }
        try {
            disk.prune(0);
            return 7;
        } catch (const Error& e) {
            if (e.code() != ErrorCode::cache_io) return 8;
        }
        // The pipeline under FLASHCORE_JIT=forbid: a disk hit, no compile.
        Config config = test::toy_config(dir.str());
        config.jit = JitMode::forbid;
        Runtime rt(config);
        CacheLookup hit = rt.build(rt.variant("toy_attention"), Target::parse("sm_89"));
        if (hit.source != CacheSource::disk || hit.entry->key != toy_key) return 9;
        return 0;
    }, &skip);
    if (rc == -1) {
        WARN("skipped: " << skip);
        return;
    }
    CHECK(rc == 0);
    CHECK(cubins_under(dir.path()) == before);
}

TEST_CASE("a damaged entry in a read-only cache is reported, left in place and missed", "[hardening][read_only]") {
    test::TempDir dir;
    CacheEntry e = test::fake_cache_entry("toy_attention:n=1");
    {
        DiskCache disk(dir.str(), 1ull << 30);
        REQUIRE(disk.store(e));
    }
    fs::path cubin = fs::path(dir.str()) / "v1" / e.key.substr(0, 2) / e.key / "kernel.cubin";
    fs::resize_file(cubin, 10);
    std::string skip;
    int rc = test::run_read_only(dir.str(), [&] {
        DiskCache disk(dir.str(), 1ull << 30);
        if (disk.load(e.key)) return 1;
        VerifyReport v = disk.verify();
        if (v.checked != 1 || v.damaged.size() != 1 || !v.quarantined.empty()) return 2;
        return 0;
    }, &skip);
    if (rc == -1) {
        WARN("skipped: " << skip);
        return;
    }
    CHECK(rc == 0);
    CHECK(fs::exists(cubin));
}

TEST_CASE("maintenance verbs count only removals that happened", "[hardening]") {
    test::TempDir dir;
    DiskCache disk(dir.str(), 1ull << 30);
    for (int i = 0; i < 4; ++i) REQUIRE(disk.store(test::fake_cache_entry("toy_attention:n=" + std::to_string(i))));
    // Another process evicts two entries behind this one's back: they are not "removed" here.
    auto listed = disk.list();
    REQUIRE(listed.size() == 4);
    fs::remove_all(listed[0].path);
    PruneReport r = disk.prune(0);
    CHECK(r.removed == 3);
    CHECK(r.failed == 0);
    CHECK(r.bytes_left == 0);
    CHECK(cubins_under(dir.path()) == 0);
}

TEST_CASE("prune by age: huge ages select nothing, zero selects everything", "[hardening]") {
    test::TempDir dir;
    DiskCache disk(dir.str(), 1ull << 30);
    for (int i = 0; i < 3; ++i) REQUIRE(disk.store(test::fake_cache_entry("toy_attention:n=" + std::to_string(i))));
    CHECK(disk.prune(1ull << 30, std::chrono::milliseconds(INT64_MAX)).removed == 0);
    CHECK(disk.prune(1ull << 30, detail::parse_duration("36500", "--older-than-days", "d", std::chrono::hours(24 * 36500)))
              .removed == 0);
    CHECK(disk.list().size() == 3);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    CHECK(disk.prune(1ull << 30, std::chrono::milliseconds(1)).removed == 3);
}

TEST_CASE("numbers from users are range-checked and name their field", "[hardening][parse]") {
    using detail::parse_byte_size;
    CHECK(parse_byte_size("4096", "f") == 4096);
    CHECK(parse_byte_size("2G", "f") == 2ull << 30);
    CHECK(parse_byte_size("1T", "f") == 1ull << 40);
    CHECK(parse_byte_size("1073741824G", "f") == 1ull << 60);
    for (const char* bad : {"17179869184G", "1073741825G", "99999999999999999999999", "", "G", "1.5G", "-1", "1X", " 1"}) {
        INFO(bad);
        Error e = test::error_from([&] { parse_byte_size(bad, "FLASHCORE_CACHE_MAX_BYTES"); });
        CHECK(e.code() == ErrorCode::bad_input);
        CHECK_THAT(e.what(), Catch::Contains("FLASHCORE_CACHE_MAX_BYTES='" + std::string(bad) + "'") &&
                                 Catch::Contains("1 EiB"));
    }
    const auto days = std::chrono::hours(24 * 36500);
    CHECK(detail::parse_duration("1", "d", "d", days) == std::chrono::hours(24));
    CHECK(detail::parse_duration("1.5h", "d", "d", days) == std::chrono::minutes(90));
    CHECK(detail::parse_duration("500ms", "t", "s", std::chrono::hours(24)) == std::chrono::milliseconds(500));
    for (const char* bad : {"1e12", "1e30", "inf", "1e400", "nan", "-1", "", "3x", "36501"}) {
        INFO(bad);
        Error e = test::error_from([&] { detail::parse_duration(bad, "--older-than-days", "d", days); });
        CHECK_THAT(e.what(), Catch::Contains("--older-than-days='" + std::string(bad) + "'"));
    }
    CHECK(detail::parse_number("1e3", "x", 0, 1e4) == 1000);
    CHECK(detail::parse_integer("-3", "x", -5, 5) == -3);
    CHECK_THROWS_AS(detail::parse_integer("99999999999999999999", "x", 0, 10), Error);
    CHECK_THROWS_AS(detail::parse_number("nan", "x", 0, 10), Error);
}

TEST_CASE("environment: cache size, lock wait and template folders are checked", "[hardening][parse]") {
    struct Env {
        const char* name;
        Env(const char* n, const char* v) : name(n) { ::setenv(n, v, 1); }
        ~Env() { ::unsetenv(name); }
    };
    {
        Env cap("FLASHCORE_CACHE_MAX_BYTES", "17179869184G");
        CHECK_THAT(test::error_from([] { Config::from_env(); }).what(), Catch::Contains("FLASHCORE_CACHE_MAX_BYTES"));
    }
    {
        Env wait("FLASHCORE_CACHE_LOCK_TIMEOUT", "1.5s");
        CHECK(Config::from_env().lock_timeout == std::chrono::milliseconds(1500));
    }
    {
        Env wait("FLASHCORE_CACHE_LOCK_TIMEOUT", "forever");
        CHECK_THAT(test::error_from([] { Config::from_env(); }).what(), Catch::Contains("FLASHCORE_CACHE_LOCK_TIMEOUT='forever'"));
    }
    {
        Env dirs("FLASHCORE_TEMPLATE_DIR", "/nonexistent");
        Error e = test::error_from([] { Config::from_env(); });
        CHECK(e.is_usage_error());
        CHECK_THAT(e.what(), Catch::Contains("FLASHCORE_TEMPLATE_DIR") && Catch::Contains("/nonexistent"));
    }
}

TEST_CASE("debris of dead writers is counted and reclaimed; quarantine has a cap and an age", "[hardening][debris]") {
    test::TempDir dir;
    DiskCache disk(dir.str(), 1ull << 30);
    CacheEntry e = test::fake_cache_entry("toy_attention:n=1");
    REQUIRE(disk.store(e));
    const fs::path root = disk.root(), shard = root / e.key.substr(0, 2);
    const std::string dead = std::to_string(dead_pid());
    fs::create_directories(shard / (".tmp-" + e.key + "-" + dead + "-0-0"));
    std::ofstream(shard / (".tmp-" + e.key + "-" + dead + "-0-0") / "kernel.cubin") << std::string(5000, 'x');
    std::ofstream(shard / e.key / ("last_use.tmp." + dead)) << "1";
    std::ofstream(root / (".probe-" + dead + "-0-0")) << "probe";
    // Live debris: this process's own, fresh: kept.
    const std::string mine = ".tmp-" + e.key + "-" + std::to_string(::getpid()) + "-99-0";
    fs::create_directories(shard / mine);
    // 40 quarantined folders, 5 of them two weeks old.
    for (int i = 0; i < 40; ++i) {
        fs::path q = root / "quarantine" / (e.key + "-" + dead + "-" + std::to_string(i) + "-0");
        fs::create_directories(q);
        std::ofstream(q / "kernel.cubin") << std::string(1000, 'q');
        age(q, std::chrono::hours(i < 5 ? 24 * 14 : i));
    }
    DiskUsage u = disk.usage();
    CHECK(u.entries == 1);
    CHECK(u.debris == 4);
    CHECK(u.debris_bytes >= 5000);
    CHECK(u.quarantined == 40);
    CHECK(u.quarantine_bytes == 40000);
    CHECK(u.total_bytes() == u.entry_bytes + u.debris_bytes + u.quarantine_bytes);

    disk.sweep_debris();
    u = disk.usage();
    CHECK(u.debris == 1);  // the live one
    CHECK(fs::exists(shard / mine));
    CHECK(u.quarantined == kQuarantineMaxFolders);
    CHECK(disk.load(e.key));
    // Once it is older than the grace period even a live owner's debris goes.
    age(shard / mine, std::chrono::hours(1));
    CHECK(disk.prune(1ull << 30).debris_removed == 1);
    CHECK(disk.usage().debris == 0);
}

TEST_CASE("the cap counts quarantine and evicts it first", "[hardening][cap]") {
    test::TempDir dir;
    DiskCache disk(dir.str(), 40000);
    CacheEntry a = test::fake_cache_entry("toy_attention:n=1", 8000);
    REQUIRE(disk.store(a));
    fs::path q = fs::path(disk.root()) / "quarantine" / "old";
    fs::create_directories(q);
    std::ofstream(q / "kernel.cubin") << std::string(30000, 'q');
    REQUIRE(disk.store(test::fake_cache_entry("toy_attention:n=2", 8000)));
    CHECK_FALSE(fs::exists(q));
    CHECK(disk.load(a.key));
    CHECK(disk.usage().total_bytes() <= 40000);
}

TEST_CASE("the byte cap holds when 6 processes write at once", "[hardening][cap]") {
    test::TempDir dir;
    const std::uint64_t cap = 100 * 1024;
    constexpr int kWriters = 6, kEach = 12;
    std::vector<pid_t> children;
    for (int w = 0; w < kWriters; ++w) {
        pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            DiskCache disk(dir.str(), cap);
            for (int i = 0; i < kEach; ++i)
                if (!disk.store(test::fake_cache_entry("toy_attention:w=" + std::to_string(w) + ",i=" + std::to_string(i), 8000)))
                    _exit(1);
            _exit(0);
        }
        children.push_back(pid);
    }
    for (pid_t pid : children) {
        int status = 0;
        REQUIRE(::waitpid(pid, &status, 0) == pid);
        CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
    }
    DiskCache disk(dir.str(), cap);
    DiskUsage u = disk.usage();
    INFO("entries " << u.entries << ", total " << u.total_bytes() << " B against a cap of " << cap);
    CHECK(u.total_bytes() <= cap);
    CHECK(u.entries >= 8);  // evicted down to the cap, not far below it
    CHECK(u.debris == 0);
}

TEST_CASE("clear never unlinks a lock a live process holds", "[hardening][locks]") {
    test::TempDir dir;
    DiskCache holder(dir.str(), 1ull << 30);
    const std::string key = test::fake_cache_entry("toy_attention:n=1").key, idle = test::fake_cache_entry("toy_attention:n=2").key;
    { DiskCache::KeyLock released = holder.lock(idle, std::chrono::seconds(1)); }
    DiskCache::KeyLock held = holder.lock(key, std::chrono::seconds(1));
    REQUIRE(held.held());
    DiskCache other(dir.str(), 1ull << 30);
    ClearReport r = other.clear();
    CHECK(r.locks_kept == 1);
    CHECK(fs::exists(fs::path(other.root()) / "locks" / (key + ".lock")));
    CHECK_FALSE(fs::exists(fs::path(other.root()) / "locks" / (idle + ".lock")));
    // Compile-once still holds: a second process's lock on that key waits.
    CHECK_FALSE(other.lock(key, std::chrono::milliseconds(100)).held());
    held = DiskCache::KeyLock();
    CHECK(other.lock(key, std::chrono::milliseconds(100)).held());
}

TEST_CASE("a lock whose file was unlinked under it is taken again on the new file", "[hardening][locks]") {
    test::TempDir dir;
    DiskCache disk(dir.str(), 1ull << 30);
    const std::string key = test::fake_cache_entry("toy_attention:n=1").key;
    const fs::path path = fs::path(disk.root()) / "locks" / (key + ".lock");
    DiskCache::KeyLock first = disk.lock(key, std::chrono::seconds(1));
    REQUIRE(first.held());
    fs::remove(path);  // what an unguarded `clear` did
    // The next locker creates a new file and holds it; a third one must then wait for it.
    DiskCache::KeyLock second = disk.lock(key, std::chrono::seconds(1));
    CHECK(second.held());
    CHECK_FALSE(disk.lock(key, std::chrono::milliseconds(50)).held());
}

TEST_CASE("a lock wait past FLASHCORE_CACHE_LOCK_TIMEOUT compiles without the lock", "[hardening][locks]") {
    test::TempDir dir;
    Config config = test::toy_config(dir.str());
    config.lock_timeout = std::chrono::milliseconds(300);
    Runtime rt(config);
    Variant v = rt.variant("toy_attention:threads=64");
    const Target sm89 = Target::parse("sm_89");
    const std::string key = rt.cache().key_components(v, {}, sm89).key();
    DiskCache other(dir.str(), 1ull << 30);
    DiskCache::KeyLock held = other.lock(key, std::chrono::seconds(1));
    REQUIRE(held.held());
    auto start = std::chrono::steady_clock::now();
    CacheLookup r = rt.build(v, sm89);
    auto waited = std::chrono::steady_clock::now() - start;
    CHECK(r.source == CacheSource::compiled);
    CHECK(waited >= std::chrono::milliseconds(300));
    CHECK(waited < std::chrono::seconds(30));
}

TEST_CASE("a garbled entry.json is quarantined with a printable reason", "[hardening]") {
    CacheEntry e = test::fake_cache_entry("toy_attention:n=1");
    detail::DecodedEntry d = detail::decode_entry("{\"format\":1,\"key\":\"\xff\xfe\x80garbled", e.compiled.cubin, e.key);
    REQUIRE_FALSE(d.entry);
    CHECK_THAT(d.damage, Catch::Contains("entry.json unreadable") && Catch::Contains("\\xff"));
    for (char c : d.damage) CHECK((c >= 0x20 && c < 0x7f));

    test::TempDir dir;
    DiskCache disk(dir.str(), 1ull << 30);
    REQUIRE(disk.store(e));
    std::ofstream(fs::path(disk.root()) / e.key.substr(0, 2) / e.key / "entry.json") << "\xff\xfe\x80 not json";
    CHECK_FALSE(disk.load(e.key));
    CHECK(disk.quarantined_count() == 1);
}

TEST_CASE("records round-trip and refuse truncation", "[hardening]") {
    CacheEntry e = test::fake_cache_entry("toy_attention:n=1", 100);
    std::string bytes = detail::encode_record(e) + detail::encode_record(test::fake_cache_entry("toy_attention:n=2", 50));
    size_t pos = 0;
    auto first = detail::decode_record(bytes, pos);
    REQUIRE(first);
    CHECK(detail::decode_entry(first->manifest, first->cubin, e.key).entry);
    CHECK(detail::decode_record(bytes, pos));
    CHECK(pos == bytes.size());
    size_t at = 0;
    CHECK_FALSE(detail::decode_record(bytes.substr(0, 60), at));
}

TEST_CASE("a wildcard pattern has an expansion limit", "[hardening][variant]") {
    TemplateRegistry registry({test::test_template_dir()});
    CHECK(expand_variant_pattern("toy_attention:threads=*", registry).size() == 3);
    Error e = test::error_from([&] { expand_variant_pattern("toy_attention:threads=*,smem_kb=*", registry, nullptr, nullptr, 4); });
    CHECK(e.is_usage_error());
    CHECK_THAT(e.what(), Catch::Contains("more than 4 variants"));
    TemplateRegistry embedded(std::vector<std::string>{});
    auto start = std::chrono::steady_clock::now();
    Error big = test::error_from([&] {
        expand_variant_pattern("attention_wmma:block_m=*,block_n=*,warps=*,copy=*,stages=*,p_dtype=*,causal=*,stage=*,dtype=*,head_dim=*,fault=*",
                               embedded);
    });
    CHECK_THAT(big.what(), Catch::Contains("more than 4096 variants"));
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(20));
}
