// `auto` across template families (tuned records compete on time, heuristics by rank, families
// a problem or device rules out are skipped), and the probe child fed one request document.
#include <catch2/catch.hpp>

#include "flashcore/runtime.hpp"
#include "flashcore/selection/auto.hpp"
#include "flashcore/selection/tune_store.hpp"
#include "flashcore/tools/probe.hpp"
#include "test_support.hpp"

using namespace flashcore;

namespace {

AttentionProblem mission() { return AttentionProblem::from_shape("1,8,8,512,512,64"); }

// Two families from the test folder and the embedded one: toy_attention (f16 only) proposes
// threads=64; reference_attention proposes its default; a family with no template is skipped.
std::vector<AutoFamily> families(int toy_rank, int reference_rank) {
    return {
        {"toy_attention", toy_rank,
         [](const AttentionProblem&, const DeviceInfo&) { return std::vector<VariantRequest>{{"toy_attention", {{"threads", "64"}}}}; }},
        {"reference_attention", reference_rank,
         [](const AttentionProblem&, const DeviceInfo&) {
             // An invalid proposal first: skipped, not an error.
             return std::vector<VariantRequest>{{"reference_attention", {{"dtype", "f64"}}}, {"reference_attention", {}}};
         }},
        {"no_such_family", 100, [](const AttentionProblem&, const DeviceInfo&) {
             return std::vector<VariantRequest>{{"no_such_family", {}}};
         }},
    };
}

void record(Runtime& rt, const std::string& id, const std::string& variant, double us) {
    TuneStore store(rt.config().cache_dir);
    TuneRecord r;
    r.variant = variant;
    r.us_median = r.us_min = r.us_max = us;
    REQUIRE(store.append(tune_key(rt, id, mission(), Target::parse("sm_90")), r));
}

}  // namespace

TEST_CASE("auto tries heuristics by family rank and skips what cannot run", "[auto]") {
    test::TempDir dir;
    Runtime rt(test::toy_config(dir.str()));
    Selection s = select_variant(rt, mission(), test::fake_h100(), families(1, 2));
    CHECK(s.source == "heuristic");
    CHECK(s.variant == "reference_attention:dtype=f16");
    CHECK(s.why == "reference_attention heuristic rule for d64-sq512-skv512-bh8-mha");
    s = select_variant(rt, mission(), test::fake_h100(), families(3, 2));
    CHECK(s.variant == "toy_attention:threads=64,smem_kb=0,mode=plain");
    // toy_attention takes f16 only: for bf16 the next family's proposal wins.
    AttentionProblem bf16 = mission();
    bf16.dtype = DType::bf16;
    CHECK(select_variant(rt, bf16, test::fake_h100(), families(3, 2)).variant == "reference_attention:dtype=bf16");
}

TEST_CASE("auto compares tuned records across families", "[auto]") {
    test::TempDir dir;
    Runtime rt(test::toy_config(dir.str()));
    record(rt, "toy_attention", "toy_attention:threads=256,smem_kb=0,mode=plain", 5.0);
    record(rt, "reference_attention", "reference_attention:dtype=f16", 3.0);
    Selection s = select_variant(rt, mission(), test::fake_h100(), families(3, 2));
    CHECK(s.source == "tuned");
    CHECK(s.variant == "reference_attention:dtype=f16");  // faster, whatever the ranks say
    record(rt, "toy_attention", "toy_attention:threads=128,smem_kb=0,mode=plain", 2.0);
    CHECK(select_variant(rt, mission(), test::fake_h100(), families(1, 2)).variant ==
          "toy_attention:threads=128,smem_kb=0,mode=plain");
    // A record the device cannot run (too much shared memory) is passed over for the next family's.
    DeviceInfo small = test::fake_h100();
    small.smem_per_block_optin = 64 * 1024;
    record(rt, "toy_attention", "toy_attention:threads=128,smem_kb=100,mode=plain", 1.0);
    CHECK(select_variant(rt, mission(), small, families(1, 2)).variant == "reference_attention:dtype=f16");
}

TEST_CASE("a probe child takes its request as one JSON document on stdin", "[auto][probe]") {
    test::TempDir dir;
    ProcessProbeRunner runner(test::cli_path());
    ProbeRequest r;
    r.variant = "reference_attention:dtype=f64";
    r.problem = AttentionProblem::from_shape("1,2,64,64");
    r.env["FLASHCORE_CACHE_DIR"] = dir.str();
    r.timeout = std::chrono::seconds(60);
    ProbeResult result = runner.run(r);
    INFO(result.output);
    CHECK(result.verdict == Verdict::invalid);
    CHECK(result.variant == "reference_attention:dtype=f64");
    CHECK(result.error_code == "bad_input");
    CHECK_THAT(result.message, Catch::Contains("cannot be 'f64'"));
    CHECK(result.exit_code == 1);
}
