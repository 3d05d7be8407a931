// can_implement: one answer to "can this variant run this problem on this device?", with the
// check that said no and its message — for every caller (check_problem, auto, tune, build).
#include <catch2/catch.hpp>

#include "flashcore/can_implement.hpp"
#include "flashcore/error.hpp"
#include "flashcore/problem_names.hpp"
#include "flashcore/runtime.hpp"
#include "test_support.hpp"

using namespace flashcore;

namespace {

DeviceInfo device(int sm, int optin = 232448) {
    DeviceInfo d;
    d.name = "Fake sm_" + std::to_string(sm);
    d.sm = sm;
    d.num_sms = 100;
    d.smem_per_block_optin = optin;
    d.driver_version = 13000;
    return d;
}

// A schema written here, for the checks no shipped template exercises.
Variant inline_variant(const std::string& extra_top, const std::string& extra_launch, const AttentionProblem& p) {
    std::string text = R"({"template": "t", "kernel": "k", "signature": "attention", "min_sm": 80, )" + extra_top +
                       R"( "params": [], "launch": {"block": "32", "grid": ["problem.Sq"])" + extra_launch + "}}";
    auto schema = std::make_shared<const TemplateSchema>(TemplateSchema::from_json(text, "inline"));
    return Variant::resolve(VariantRequest{"t", {}}, schema, problem_names(p));
}

AttentionProblem problem(const char* shape = "1,2,2,64,64,64") { return AttentionProblem::from_shape(shape); }

}  // namespace

TEST_CASE("can_implement says yes when every check holds", "[can_implement]") {
    test::TempDir dir;
    Runtime rt(test::toy_config(dir.str()));
    AttentionProblem p = problem();
    Fit fit = can_implement(rt.variant("toy_attention", &p), p, device(90));
    CHECK(fit.ok());
    CHECK(fit.check == FitCheck::ok);
    CHECK(fit.message.empty());
}

TEST_CASE("can_implement names the failing check and the schema's message", "[can_implement]") {
    test::TempDir dir;
    Runtime rt(test::toy_config(dir.str()));
    AttentionProblem p = problem();

    SECTION("a malformed problem") {
        AttentionProblem bad = p;
        bad.Hkv = 3;
        Fit fit = can_implement(rt.variant("toy_attention"), bad, device(90));
        CHECK(fit.check == FitCheck::problem);
        CHECK(fit.code == ErrorCode::bad_problem);
        CHECK_THAT(fit.message, Catch::Contains("Hq must be a multiple of Hkv"));
    }
    SECTION("a schema problem check, with its message filled in") {
        AttentionProblem bf16 = p;
        bf16.dtype = DType::bf16;
        Fit fit = can_implement(rt.variant("toy_attention"), bf16, device(90));
        CHECK(fit.check == FitCheck::problem_check);
        CHECK(fit.code == ErrorCode::bad_problem);
        CHECK(fit.message == "toy_attention takes f16 only, not bf16");
    }
    SECTION("a device older than min_sm") {
        Fit fit = can_implement(rt.variant("attention_mma", &p), p, device(75));
        CHECK(fit.check == FitCheck::min_sm);
        CHECK(fit.code == ErrorCode::bad_input);
        CHECK_THAT(fit.message, Catch::Contains("needs sm_80 or newer; this device is sm_75"));
    }
    SECTION("shared memory above the opt-in maximum, with the arithmetic") {
        Fit fit = can_implement(rt.variant("toy_attention:smem_kb=300"), p, device(90));
        CHECK(fit.check == FitCheck::shared_memory);
        CHECK(fit.code == ErrorCode::resource_exceeded);
        CHECK_THAT(fit.message, Catch::Contains("requested 300.0 KB (static 0.0 + dynamic 300.0) > opt-in max 227.0 KB on Fake sm_90"));
    }
    SECTION("a launch the contract cannot derive") {
        AttentionProblem many = problem("1,70000,70000,4,4,64");
        Fit fit = can_implement(rt.variant("reference_attention", &many), many, device(90));
        CHECK(fit.check == FitCheck::launch);
        CHECK_THAT(fit.message, Catch::Contains("grid.y = 70000"));
    }
}

TEST_CASE("max_sm keeps an arch-specific family off newer GPUs, as a reason, not a crash", "[can_implement]") {
    AttentionProblem p = problem();
    Variant v = inline_variant(R"("arch_suffix": "a", "min_sm": 90, "max_sm": 90,)", "", p);
    CHECK(v.schema().max_sm == 90);
    CHECK(can_implement(v, p, device(90)).ok());
    Fit fit = can_implement(v, p, device(100));
    CHECK(fit.check == FitCheck::max_sm);
    CHECK(fit.code == ErrorCode::bad_input);
    CHECK_THAT(fit.message, Catch::Contains("runs on sm_90 at most") && Catch::Contains("this device is sm_100"));
    CHECK(can_implement(v, p, device(89)).check == FitCheck::min_sm);
    CHECK_THROWS_WITH(TemplateSchema::from_json(
                          R"({"template": "t", "kernel": "k", "signature": "attention", "min_sm": 90, "max_sm": 80,
                              "launch": {"block": "1", "grid": ["1"]}})",
                          "inline"),
                      Catch::Contains("max_sm 80 is below min_sm 90"));
}

TEST_CASE("clusters and tensor maps need sm_90 and a CUDA 12 driver", "[can_implement]") {
    AttentionProblem p = problem();
    Variant clustered = inline_variant("", R"(, "cluster": ["2"])", p);
    CHECK(can_implement(clustered, p, device(90)).ok());
    Fit fit = can_implement(clustered, p, device(89));
    CHECK(fit.check == FitCheck::cluster);
    CHECK_THAT(fit.message, Catch::Contains("thread-block clusters, which need sm_90"));
    // A grid that is no multiple of the cluster is a launch reason.
    AttentionProblem odd = problem("1,2,2,63,63,64");
    CHECK(can_implement(clustered, odd, device(90)).check == FitCheck::launch);

    Variant mapped = inline_variant(
        "", R"(, "args": [{"kind": "params"}, {"kind": "tensor_map", "tensor": "k", "box": ["64", "16"]}])", p);
    CHECK(can_implement(mapped, p, device(90)).ok());
    CHECK(can_implement(mapped, p, device(89)).check == FitCheck::tensor_maps);
    DeviceInfo old_driver = device(90);
    old_driver.driver_version = 11080;
    fit = can_implement(mapped, p, old_driver);
    CHECK(fit.check == FitCheck::tensor_maps);
    CHECK_THAT(fit.message, Catch::Contains("CUDA 12.0 driver or newer; this one is 11.8"));
    // A box the element type cannot take: 4 f16 = 8 bytes is no multiple of 16.
    Variant narrow = inline_variant(
        "", R"(, "args": [{"kind": "params"}, {"kind": "tensor_map", "tensor": "q", "box": ["4"]}])", p);
    fit = can_implement(narrow, p, device(90));
    CHECK(fit.check == FitCheck::kernel_args);
    CHECK_THAT(fit.message, Catch::Contains("tensor map for q") && Catch::Contains("not a multiple of 16"));
}

TEST_CASE("check_problem raises can_implement's reason; shared memory is left to the launch", "[can_implement]") {
    test::TempDir dir;
    Runtime rt(test::toy_config(dir.str()));
    AttentionProblem bf16 = problem();
    bf16.dtype = DType::bf16;
    Error e = test::error_from([&] { rt.check_problem(rt.variant("toy_attention"), bf16); });
    CHECK(e.code() == ErrorCode::bad_problem);
    CHECK(e.info().variant == "toy_attention:threads=128,smem_kb=0,mode=plain");
    CHECK_THAT(e.info().message,
               Catch::StartsWith("variant cannot take problem B=1,Hq=2,Hkv=2,Sq=64,Skv=64,D=64,causal=0,dtype=bf16:") &&
                   Catch::Contains("toy_attention takes f16 only"));
    CHECK_NOTHROW(rt.check_problem(rt.variant("toy_attention:smem_kb=300"), problem()));
}

TEST_CASE("without a problem, can_implement answers what the target alone decides", "[can_implement]") {
    test::TempDir dir;
    Runtime rt(test::toy_config(dir.str()));
    DeviceInfo l4 = target_facts(89, "sm_89");
    CHECK(l4.smem_per_block_optin == 99 * 1024);
    Fit fit = can_implement(rt.variant("toy_attention:smem_kb=100"), FitQuery{nullptr, &l4, 2048});
    CHECK(fit.check == FitCheck::shared_memory);
    CHECK_THAT(fit.message, Catch::Contains("(static 2.0 + dynamic 100.0) > opt-in max 99.0 KB on sm_89"));
    CHECK(can_implement(rt.variant("toy_attention:smem_kb=40"), FitQuery{nullptr, &l4, 0}).ok());
    // Problem checks need a problem; they are not a reason without one.
    CHECK(can_implement(rt.variant("reference_attention"), FitQuery{nullptr, &l4, 0}).ok());
}
