#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "flashcore/error.hpp"
#include "flashcore/runtime.hpp"
#include "test_support.hpp"

using namespace flashcore;
namespace fs = std::filesystem;

TEST_CASE("lookups go memory -> disk -> compile, and say where they found it", "[kernel_cache]") {
    test::TempDir dir;
    Target sm90 = Target::parse("sm_90");
    std::string key;
    {
        Runtime rt(test::toy_config(dir.str()));
        Variant v = rt.variant("toy_attention");
        CacheLookup first = rt.build(v, sm90);
        CHECK(first.source == CacheSource::compiled);
        CacheLookup second = rt.build(v, sm90);
        CHECK(second.source == CacheSource::memory);
        CHECK(second.entry == first.entry);
        const CacheStats& s = rt.cache().stats();
        CHECK(s.compiles == 1);
        CHECK(s.misses == 1);
        CHECK(s.memory_hits == 1);
        CHECK(s.disk_hits == 0);
        key = first.entry->key;
    }
    Runtime fresh(test::toy_config(dir.str()));
    CacheLookup third = fresh.build(fresh.variant("toy_attention"), sm90);
    CHECK(third.source == CacheSource::disk);
    CHECK(third.entry->key == key);
    CHECK(fresh.cache().stats().compiles == 0);
    CHECK(fresh.cache().stats().disk_hits == 1);
}

TEST_CASE("a corrupt disk entry is recompiled once, with the cache healed", "[kernel_cache]") {
    test::TempDir dir;
    Target sm89 = Target::parse("sm_89");
    std::string key;
    {
        Runtime rt(test::toy_config(dir.str()));
        key = rt.build(rt.variant("toy_attention"), sm89).entry->key;
    }
    fs::path cubin = fs::path(dir.str()) / "v1" / key.substr(0, 2) / key / "kernel.cubin";
    fs::resize_file(cubin, fs::file_size(cubin) / 2);
    Runtime rt(test::toy_config(dir.str()));
    CacheLookup again = rt.build(rt.variant("toy_attention"), sm89);
    CHECK(again.source == CacheSource::compiled);
    CHECK(rt.cache().stats().compiles == 1);
    CHECK(rt.cache().disk().quarantined_count() == 1);
    CHECK(fs::file_size(cubin) == again.entry->compiled.cubin.size());
}

TEST_CASE("FLASHCORE_JIT=forbid turns a miss into a typed error; a hit still works", "[kernel_cache]") {
    test::TempDir dir;
    Target sm90 = Target::parse("sm_90");
    Config config = test::toy_config(dir.str());
    config.jit = JitMode::forbid;
    {
        Runtime rt(config);
        Error e = test::error_from([&] { rt.build(rt.variant("toy_attention:threads=64"), sm90); });
        CHECK(e.code() == ErrorCode::jit_forbidden);
        CHECK(e.info().variant == "toy_attention:threads=64,smem_kb=0,mode=plain");
        CHECK_THAT(e.info().message, Catch::Contains("forbidden") && Catch::Contains("flashcore build"));
        CHECK(rt.cache().stats().compiles == 0);
    }
    {
        Runtime normal(test::toy_config(dir.str()));
        normal.build(normal.variant("toy_attention:threads=64"), sm90);
    }
    Runtime rt(config);
    CHECK(rt.build(rt.variant("toy_attention:threads=64"), sm90).source == CacheSource::disk);
}

TEST_CASE("FLASHCORE_JIT=always recompiles but still writes", "[kernel_cache]") {
    test::TempDir dir;
    Target sm90 = Target::parse("sm_90");
    {
        Runtime rt(test::toy_config(dir.str()));
        rt.build(rt.variant("toy_attention"), sm90);
    }
    Config config = test::toy_config(dir.str());
    config.jit = JitMode::always;
    Runtime rt(config);
    CacheLookup r = rt.build(rt.variant("toy_attention"), sm90);
    CHECK(r.source == CacheSource::compiled);
    CHECK(rt.cache().stats().disk_hits == 0);
    CHECK(rt.cache().stats().compiles == 1);
    CHECK(rt.cache().disk().list().size() == 1);
}

TEST_CASE("concurrent requests for one key compile once; other keys do not wait", "[kernel_cache]") {
    test::TempDir dir;
    Runtime rt(test::toy_config(dir.str()));
    Target sm90 = Target::parse("sm_90");
    Variant v = rt.variant("toy_attention:threads=256");
    // Warm an unrelated key so a later hit on it can be timed while the cold key compiles.
    Variant warm = rt.variant("toy_attention:threads=64");
    rt.build(warm, sm90);

    std::vector<std::thread> threads;
    std::atomic<int> compiled{0}, from_memory{0};
    for (int i = 0; i < 6; ++i)
        threads.emplace_back([&] {
            CacheLookup r = rt.build(v, sm90);
            (r.source == CacheSource::compiled ? compiled : from_memory)++;
        });
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // let the cold compile start
    CacheLookup hit = rt.build(warm, sm90);  // must not queue behind it
    for (auto& t : threads) t.join();
    CHECK(compiled == 1);
    CHECK(from_memory == 5);
    CHECK(rt.cache().stats().compiles == 2);
    CHECK(hit.source == CacheSource::memory);
    CHECK(hit.lookup_ms < 50.0);  // a compile takes ~100 ms or more here
}

TEST_CASE("a failed compile is not cached; fixing the template succeeds", "[kernel_cache]") {
    test::TempDir dir, templates;
    fs::copy(test::test_template_dir(), templates.path(), fs::copy_options::recursive);
    fs::path source = templates.path() / "toy_attention.cu";
    std::string original;
    {
        std::ifstream in(source);
        original.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    std::ofstream(source) << original << "\n#error planted\n";
    Config config = test::test_config(dir.str());
    config.template_dirs = {templates.str()};
    Runtime rt(config);
    Target sm90 = Target::parse("sm_90");
    CHECK_THROWS_AS(rt.build(rt.variant("toy_attention"), sm90), Error);
    std::ofstream(source) << original;
    CHECK(rt.build(rt.variant("toy_attention"), sm90).source == CacheSource::compiled);
}
