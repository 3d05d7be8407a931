#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "flashcore/cache_key.hpp"
#include "flashcore/runtime.hpp"
#include "test_support.hpp"

using namespace flashcore;
namespace fs = std::filesystem;

TEST_CASE("golden key: the key format changes only with a version bump", "[cache_key]") {
    KeyComponents c;
    c.template_id = "attention_wmma";
    c.content_digest = "0123456789abcdef0123456789abcdef";
    c.variant = "attention_wmma:block_m=64,block_n=32";
    c.options = "std=c++17;lineinfo=1;debug=0;fast_math=0;maxrreg=0;defines=;extra=";
    c.arch = "sm_90a";
    c.nvrtc_version = "13.0";
    // If this fails, the key derivation changed: bump kKeySchemaVersion (old cache entries
    // must not be read as new ones), then update the expected value.
    CHECK(kKeySchemaVersion == 1);
    CHECK(c.key() == "7fc325fd1d1c8961b942acb908fdbdd8");
    CHECK(c.key().size() == 32);
}

TEST_CASE("each key component changes the key", "[cache_key]") {
    KeyComponents base;
    base.template_id = "t";
    base.content_digest = "c";
    base.variant = "t:a=1";
    base.options = "o";
    base.arch = "sm_90";
    base.nvrtc_version = "13.0";
    auto changed = [&](auto mutate) {
        KeyComponents c = base;
        mutate(c);
        return c.key() != base.key();
    };
    CHECK(changed([](KeyComponents& c) { c.key_schema += 1; }));
    CHECK(changed([](KeyComponents& c) { c.template_id = "u"; }));
    CHECK(changed([](KeyComponents& c) { c.content_digest = "d"; }));
    CHECK(changed([](KeyComponents& c) { c.variant = "t:a=2"; }));
    CHECK(changed([](KeyComponents& c) { c.options = "p"; }));
    CHECK(changed([](KeyComponents& c) { c.arch = "sm_90a"; }));
    CHECK(changed([](KeyComponents& c) { c.nvrtc_version = "13.1"; }));
    // Field boundaries are unambiguous.
    CHECK(changed([](KeyComponents& c) { c.template_id = "tc", c.content_digest = ""; }));
}

TEST_CASE("the key follows headers, options and arch, and nothing else", "[cache_key]") {
    test::TempDir cache, templates;
    fs::copy(test::test_template_dir(), templates.path(), fs::copy_options::recursive);
    Config config = test::test_config(cache.str());
    config.template_dirs = {templates.str()};
    Runtime rt(config);
    KernelCache& kc = rt.cache();
    Target sm90 = Target::parse("sm_90");
    Variant v = rt.variant("toy_attention:threads=256");
    const std::string base = kc.key_components(v, {}, sm90).key();

    SECTION("stable for the same inputs, however the variant was spelled") {
        CHECK(kc.key_components(v, {}, sm90).key() == base);
        Variant respelled = rt.variant("toy_attention: mode=plain , threads=256,smem_kb=0");
        CHECK(kc.key_components(respelled, {}, sm90).key() == base);
        CompileOptions spelled;
        spelled.add_flag("--generate-line-info");
        CHECK(kc.key_components(v, spelled, sm90).key() == base);
    }
    SECTION("an unrelated template's edit does not matter") {
        std::ofstream(templates.path() / "reference_attention.cu") << "// shadow copy\n";
        CHECK(kc.key_components(v, {}, sm90).key() == base);
    }
    SECTION("an included header's edit does") {
        std::ofstream(templates.path() / "common" / "toy_helper.cuh", std::ios::app) << "\n// edited\n";
        CHECK(kc.key_components(v, {}, sm90).key() != base);
    }
    SECTION("a shared header included transitively does") {
        std::ofstream(templates.path() / "common" / "numeric.cuh")
            << "#pragma once\n#include <cuda_fp16.h>\nnamespace fc { __device__ inline float to_float(__half x) { return __half2float(x); } }\n";
        CHECK(kc.key_components(v, {}, sm90).key() != base);
    }
    SECTION("the template's own text and schema do") {
        std::ofstream(templates.path() / "toy_attention.cu", std::ios::app) << "\n// edited\n";
        CHECK(kc.key_components(v, {}, sm90).key() != base);
    }
    SECTION("options, arch and variant do") {
        CompileOptions debug;
        debug.add_flag("-G");
        CHECK(kc.key_components(v, debug, sm90).key() != base);
        CompileOptions define;
        define.add_flag("-DEXTRA=1");
        CHECK(kc.key_components(v, define, sm90).key() != base);
        CHECK(kc.key_components(v, {}, Target::parse("sm_90a")).key() != base);
        CHECK(kc.key_components(v, {}, Target::parse("sm_89")).key() != base);
        CHECK(kc.key_components(rt.variant("toy_attention:threads=128"), {}, sm90).key() != base);
    }
    SECTION("the NVRTC version is a key field") {
        KeyComponents c = kc.key_components(v, {}, sm90);
        CHECK(c.nvrtc_version == rt.cache().toolkit().nvrtc_version());
        c.nvrtc_version = "99.9";
        CHECK(c.key() != base);
    }
}
