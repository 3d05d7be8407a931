#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "flashcore/compile.hpp"
#include "flashcore/error.hpp"
#include "flashcore/kernel_cache.hpp"
#include "flashcore/runtime.hpp"
#include "test_support.hpp"

using namespace flashcore;

TEST_CASE("targets parse in every usual spelling", "[compile]") {
    CHECK(Target::parse("sm_90a").to_string() == "sm_90a");
    CHECK(Target::parse("90").to_string() == "sm_90");
    CHECK(Target::parse("8.9").to_string() == "sm_89");
    CHECK(Target::parse("compute_80").to_string() == "sm_80");
    CHECK(Target::parse("sm_100").to_string() == "sm_100");
    CHECK_THROWS_AS(Target::parse("hopper"), Error);
    TemplateSchema wants_a;
    wants_a.arch_suffix = "a";
    CHECK(target_for(wants_a, Target::parse("sm_90")).to_string() == "sm_90a");
    CHECK(target_for(wants_a, Target::parse("sm_89")).to_string() == "sm_89");
}

TEST_CASE("equivalent option spellings canonicalize equal", "[compile]") {
    auto canonical = [](std::vector<std::string> flags) {
        CompileOptions o;
        for (const auto& f : flags) o.add_flag(f);
        return o.canonical();
    };
    CHECK(canonical({"-G"}) == canonical({"--device-debug"}));
    CHECK(canonical({"-lineinfo"}) == canonical({"--generate-line-info"}));
    CHECK(canonical({"-lineinfo"}) == canonical({}));  // on by default
    CHECK(canonical({"-DX=1"}) == canonical({"--define-macro=X=1"}));
    CHECK(canonical({"-maxrregcount=64"}) == canonical({"--maxrregcount=64"}));
    CHECK(canonical({"-use_fast_math"}) == canonical({"--use_fast_math"}));
    CHECK(canonical({"-G"}) != canonical({}));
    CHECK(canonical({"-DX=1"}) != canonical({"-DX=2"}));
    CompileOptions o;
    CHECK_THROWS_AS(o.add_flag("-arch=sm_80"), Error);
    CHECK_THROWS_AS(o.add_flag("-I/tmp"), Error);
    // The promotion policy is not part of the cubin's identity.
    CompileOptions allowed;
    allowed.allowed_warnings = {"local-wmma"};
    CHECK(allowed.canonical() == CompileOptions{}.canonical());
}

TEST_CASE("ptxas -v output is parsed per kernel", "[compile]") {
    const std::string log =
        "ptxas info    : 0 bytes gmem\n"
        "ptxas info    : Compiling entry function '_Z5otherv' for 'sm_90'\n"
        "ptxas info    : Function properties for _Z5otherv\n"
        "ptxas         .     8 bytes stack frame, 4 bytes spill stores, 4 bytes spill loads\n"
        "ptxas info    : Used 10 registers, used 0 barriers\n"
        "ptxas info    : Compiling entry function '_Z4mainv' for 'sm_90'\n"
        "ptxas info    : Function properties for _Z4mainv\n"
        "ptxas         .     0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads\n"
        "ptxas info    : Used 168 registers, used 1 barriers, 2048 bytes smem, 400 bytes cmem[0]\n";
    ResourceUsage r = parse_resource_usage(log, "_Z4mainv");
    CHECK(r.parsed);
    CHECK(r.registers == 168);
    CHECK(r.static_shared_bytes == 2048);
    CHECK(r.barriers == 1);
    CHECK(r.spill_store_bytes == 0);
    ResourceUsage other = parse_resource_usage(log, "_Z5otherv");
    CHECK(other.registers == 10);
    CHECK(other.stack_bytes == 8);
    CHECK(other.spill_load_bytes == 4);
    CHECK_FALSE(parse_resource_usage(log, "_Z7missingv").parsed);
}

TEST_CASE("warnings are extracted once each", "[compile]") {
    auto w = extract_warnings(
        "warning: a.hpp(1): Warning: cannot perform wmma load or store on local memory\n"
        "warning: a.hpp(1): Warning: cannot perform wmma load or store on local memory\n"
        "ptxas info    : Used 4 registers\n"
        "x.cu(3): warning #177-D: variable \"y\" was declared but never referenced\n");
    CHECK(w.size() == 2);
}

TEST_CASE("reference_attention compiles for sm_89 and sm_90a", "[compile]") {
    test::TempDir dir;
    Runtime rt(test::test_config(dir.str()));
    for (const char* arch : {"sm_89", "sm_90a"}) {
        for (const char* dtype : {"f16", "bf16", "f32"}) {
            Variant v = rt.variant(std::string("reference_attention:dtype=") + dtype);
            CacheLookup r = rt.build(v, Target::parse(arch));
            const Compiled& c = r.entry->compiled;
            CHECK(r.source == CacheSource::compiled);
            CHECK(c.cubin.size() > 1000);
            CHECK(c.cubin.compare(0, 4, "\x7f" "ELF") == 0);
            CHECK(c.lowered_name == "_ZN2fc23reference_attention_fwdE17FcAttentionParams");
            CHECK(c.resources.parsed);
            CHECK(c.resources.registers > 0);
            CHECK(c.resources.spill_store_bytes == 0);
            CHECK(c.resources.stack_bytes == 0);
            CHECK(c.warnings.empty());
            CHECK(r.entry->components.arch == arch);
        }
    }
}

TEST_CASE("the wmma-on-local-memory warning is refused by default", "[compile]") {
    test::TempDir dir;
    Config config = test::test_config(dir.str());
    config.template_dirs = {test::test_template_dir()};
    Runtime rt(config);
    Variant v = rt.variant("local_wmma");
    try {
        rt.build(v, Target::parse("sm_90"));
        FAIL("expected the promoted warning to stop the build");
    } catch (const Error& e) {
        CHECK(e.code() == ErrorCode::warning_promoted);
        CHECK(e.stage() == Stage::compile);
        CHECK_THAT(e.info().message, Catch::Contains("cannot perform wmma load or store on local memory") &&
                                         Catch::Contains("--allow-warning local-wmma"));
        CHECK(e.info().variant == "local_wmma");
        CHECK(e.info().arch == "sm_90");
    }
    CompileOptions allow;
    allow.allowed_warnings = {"local-wmma"};
    CacheLookup r = rt.build(v, Target::parse("sm_90"), allow);
    REQUIRE_FALSE(r.entry->compiled.warnings.empty());
    CHECK_THAT(r.entry->compiled.warnings[0], Catch::Contains("local memory"));
    // The stored entry still carries its warning: promotion applies to cache hits as well.
    CHECK_THROWS_AS(rt.build(v, Target::parse("sm_90")), Error);
}

TEST_CASE("setmaxnreg ignored (C7508) fails the build of a warp-specialized kernel", "[compile]") {
    // The real attention_wgmma template with `__launch_bounds__(threads)` instead of
    // `(threads, 1)`: ptxas cannot know the register count at entry and drops setmaxnreg,
    // reporting it only as an "info" line.
    test::TempDir dir;
    namespace fs = std::filesystem;
    fs::path templates = fs::path(dir.str()) / "templates";
    fs::copy(FLASHCORE_SOURCE_TEMPLATE_DIR, templates, fs::copy_options::recursive);
    fs::path kernel = templates / "attention_wgmma.cu";
    std::string text;
    {
        std::ifstream in(kernel);
        text.assign(std::istreambuf_iterator<char>(in), {});
    }
    const std::string bounds = "__launch_bounds__(kThreads, 1)";
    size_t at = text.find(bounds);
    REQUIRE(at != std::string::npos);
    text.replace(at, bounds.size(), "__launch_bounds__(kThreads)");
    std::ofstream(kernel) << text;

    Config config = test::test_config(dir.str() + "/cache");
    config.template_dirs = {templates.string()};
    Runtime rt(config);
    Variant v = rt.variant("attention_wgmma:consumer_wgs=1,head_dim=64");
    try {
        rt.build(v, Target::parse("sm_90a"));
        FAIL("expected the C7508 report to stop the build");
    } catch (const Error& e) {
        CHECK(e.code() == ErrorCode::warning_promoted);
        CHECK_THAT(e.info().message, Catch::Contains("'setmaxnreg' ignored") &&
                                         Catch::Contains("--allow-warning setmaxnreg-ignored"));
    }
    CompileOptions allow;
    allow.allowed_warnings = {"setmaxnreg-ignored"};
    CHECK(rt.build(v, Target::parse("sm_90a"), allow).entry->compiled.warnings.size() == 1);
}

TEST_CASE("ptxas performance-loss reports count as warnings", "[compile]") {
    auto w = extract_warnings(
        "ptxas info    : (C7508) Potential Performance Loss: 'setmaxnreg' ignored; unable to determine register count at entry.\n"
        "ptxas info    : (C7513) Potential Performance Loss: wgmma.mma_async instructions are serialized due to ...\n"
        "ptxas info    : Used 168 registers\n");
    REQUIRE(w.size() == 2);
    CHECK_THAT(w[1], Catch::Contains("wgmma.mma_async instructions are serialized"));
    bool promoted = false;
    for (const auto& rule : default_promoted_warnings()) promoted |= rule.id == "wgmma-serialized" && w[1].find(rule.pattern) != std::string::npos;
    CHECK(promoted);
}

TEST_CASE("a compile error keeps the log, the variant and the arch", "[compile]") {
    test::TempDir dir, templates;
    std::filesystem::copy(test::test_template_dir(), templates.path(), std::filesystem::copy_options::recursive);
    {
        std::ofstream broken(templates.path() / "toy_attention.cu", std::ios::app);
        broken << "\nthis is not C++;\n";
    }
    Config config = test::test_config(dir.str());
    config.template_dirs = {templates.str()};
    Runtime rt(config);
    try {
        rt.build(rt.variant("toy_attention"), Target::parse("sm_89"));
        FAIL("expected a compile error");
    } catch (const Error& e) {
        CHECK(e.code() == ErrorCode::compile_failed);
        CHECK_THAT(e.info().log, Catch::Contains("toy_attention.cu"));
        CHECK_THAT(e.info().message, Catch::Contains("error"));
        CHECK(e.info().variant == "toy_attention:threads=128,smem_kb=0,mode=plain");
        CHECK(e.info().arch == "sm_89");
    }
}

TEST_CASE("an unsupported arch is a clear input error", "[compile]") {
    test::TempDir dir;
    Runtime rt(test::test_config(dir.str()));
    try {
        rt.build(rt.variant("reference_attention"), Target::parse("sm_61"));
        FAIL("expected an error");
    } catch (const Error& e) {
        CHECK(e.is_usage_error());
        CHECK_THAT(e.info().message, Catch::Contains("sm_61"));
    }
}

TEST_CASE("a repeated compile of the same program still reports warnings and resources", "[compile]") {
    // Regression: NVRTC's own cache answered repeats with an empty log on the GPU machine.
    test::TempDir a, b;
    for (const auto& dir : {a.str(), b.str()}) {
        Config config = test::test_config(dir);
        config.template_dirs = {test::test_template_dir()};
        Runtime rt(config);
        CompileOptions allow;
        allow.allowed_warnings = {"local-wmma"};
        CacheLookup r = rt.build(rt.variant("local_wmma"), Target::parse("sm_90"), allow);
        CHECK(r.source == CacheSource::compiled);
        CHECK(r.entry->compiled.resources.parsed);
        CHECK_FALSE(r.entry->compiled.warnings.empty());
    }
}
