#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <thread>

#include "flashcore/disk_cache.hpp"
#include "flashcore/error.hpp"
#include "flashcore/hash.hpp"
#include "test_support.hpp"

using namespace flashcore;
namespace fs = std::filesystem;

namespace {

fs::path entry_path(const DiskCache& disk, const std::string& key) { return fs::path(disk.root()) / key.substr(0, 2) / key; }

}  // namespace

TEST_CASE("entries round-trip through the documented layout", "[disk_cache]") {
    test::TempDir dir;
    DiskCache disk(dir.str(), 1ull << 30);
    REQUIRE(disk.enabled());
    CacheEntry e = test::fake_cache_entry("toy_attention:threads=64");
    REQUIRE(disk.store(e));
    fs::path path = entry_path(disk, e.key);
    CHECK(fs::exists(path / "kernel.cubin"));
    CHECK(fs::exists(path / "entry.json"));
    CHECK(fs::file_size(path / "kernel.cubin") == e.compiled.cubin.size());
    CHECK(disk.root() == dir.str() + "/v1");
    // Nothing temporary is left behind.
    for (const auto& f : fs::recursive_directory_iterator(dir.path()))
        CHECK(f.path().filename().string().rfind(".tmp-", 0) == std::string::npos);

    auto loaded = disk.load(e.key);
    REQUIRE(loaded);
    CHECK(loaded->compiled.cubin == e.compiled.cubin);
    CHECK(loaded->compiled.lowered_name == "_Z1kv");
    CHECK(loaded->compiled.warnings == e.compiled.warnings);
    CHECK(loaded->compiled.resources.registers == 10);
    CHECK(loaded->components.variant == e.components.variant);
    CHECK_FALSE(disk.load(test::fake_cache_entry("other").key));
    CHECK(disk.quarantined_count() == 0);
}

TEST_CASE("damaged entries are quarantined and read as misses", "[disk_cache]") {
    test::TempDir dir;
    DiskCache disk(dir.str(), 1ull << 30);
    CacheEntry e = test::fake_cache_entry("toy_attention:threads=64");
    REQUIRE(disk.store(e));
    fs::path path = entry_path(disk, e.key);

    SECTION("garbage manifest") { std::ofstream(path / "entry.json") << "{ not json"; }
    SECTION("truncated cubin") { fs::resize_file(path / "kernel.cubin", 100); }
    SECTION("flipped cubin byte") {
        std::fstream f(path / "kernel.cubin", std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(17);
        f.put('\x5a' ^ e.compiled.cubin[17]);
    }
    SECTION("missing cubin") { fs::remove(path / "kernel.cubin"); }
    SECTION("foreign entry: a manifest written for another key") {
        CacheEntry other = test::fake_cache_entry("toy_attention:threads=256");
        std::ofstream(path / "entry.json") << entry_to_json(other, xxh3_64(other.compiled.cubin));
    }
    SECTION("foreign entry: another key schema version") {
        std::ifstream in(path / "entry.json");
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        auto pos = text.find("\"key_schema\": 1");
        REQUIRE(pos != std::string::npos);
        text.replace(pos, 15, "\"key_schema\": 7");
        std::ofstream(path / "entry.json") << text;
    }
    CHECK_FALSE(disk.load(e.key));
    CHECK_FALSE(fs::exists(path));
    CHECK(disk.quarantined_count() == 1);
    // A fresh store works again afterwards.
    REQUIRE(disk.store(e));
    CHECK(disk.load(e.key));
}

TEST_CASE("a cache folder that cannot be written means memory only", "[disk_cache]") {
    test::TempDir dir;
    // A regular file where a folder should be: fails even for root, unlike chmod.
    std::ofstream(dir.path() / "file") << "x";
    DiskCache disk((dir.path() / "file" / "cache").string(), 1ull << 30);
    CHECK_FALSE(disk.enabled());
    CHECK_THAT(disk.disabled_reason(), Catch::Contains("cannot create"));
    CacheEntry e = test::fake_cache_entry("toy_attention:threads=64");
    CHECK_FALSE(disk.store(e));
    CHECK_FALSE(disk.load(e.key));
    CHECK(disk.list().empty());
}

TEST_CASE("the byte cap evicts the least recently used entries", "[disk_cache]") {
    test::TempDir dir;
    // Each fake entry is a bit over 8 KB on disk; room for three.
    DiskCache disk(dir.str(), 3 * 8192 + 4096);
    std::vector<CacheEntry> entries;
    for (int i = 0; i < 3; ++i) {
        entries.push_back(test::fake_cache_entry("toy_attention:n=" + std::to_string(i), 7000));
        REQUIRE(disk.store(entries.back()));
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    REQUIRE(disk.list().size() == 3);
    // Use entry 0 so entry 1 becomes the least recently used.
    REQUIRE(disk.load(entries[0].key));
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    CacheEntry fourth = test::fake_cache_entry("toy_attention:n=3", 7000);
    REQUIRE(disk.store(fourth));
    CHECK(disk.load(entries[0].key));
    CHECK_FALSE(disk.load(entries[1].key));
    CHECK(disk.load(entries[2].key));
    CHECK(disk.load(fourth.key));

    PruneReport r = disk.prune(0);
    CHECK(r.removed == 3);
    CHECK(disk.list().empty());
}

TEST_CASE("verify, explain_miss and clear", "[disk_cache]") {
    test::TempDir dir;
    DiskCache disk(dir.str(), 1ull << 30);
    CacheEntry a = test::fake_cache_entry("toy_attention:threads=64,mode=plain");
    CacheEntry b = test::fake_cache_entry("toy_attention:threads=128,mode=plain");
    REQUIRE(disk.store(a));
    REQUIRE(disk.store(b));
    fs::resize_file(entry_path(disk, b.key) / "kernel.cubin", 10);
    VerifyReport report = disk.verify();
    CHECK(report.checked == 2);
    CHECK(report.quarantined == std::vector<std::string>{b.key});

    KeyComponents wanted = a.components;
    wanted.variant = "toy_attention:threads=256,mode=plain";
    wanted.arch = "sm_89";
    std::string why = disk.explain_miss(wanted);
    CHECK_THAT(why, Catch::Contains(a.key) && Catch::Contains("threads: 64 -> 256") &&
                        Catch::Contains("arch (sm_90 -> sm_89)"));
    CHECK(disk.clear().removed == 1);
    CHECK(disk.list().empty());
    CHECK(disk.quarantined_count() == 0);
}
