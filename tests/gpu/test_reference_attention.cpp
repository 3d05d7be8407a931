// reference_attention against the CPU in fp64: the reference must itself be right.
#include <catch2/catch.hpp>

#include "flashcore/tools/attention_harness.hpp"
#include "test_support.hpp"

using namespace flashcore;

TEST_CASE("reference_attention matches CPU fp64 on awkward shapes", "[gpu][reference]") {
    test::TempDir dir;
    Runtime rt(test::test_config(dir.str()));
    struct Case {
        const char* shape;
        DType dtype;
        bool causal;
        bool lse;
    };
    const Case cases[] = {
        {"1,8,8,512,512,64", DType::f16, false, false},    // the mission shape
        {"1,8,8,512,512,64", DType::bf16, true, true},
        {"2,4,4,1,77,64", DType::f16, false, true},        // Sq = 1
        {"1,2,2,77,1013,128", DType::f16, false, true},    // Skv = 1013, not a tile multiple
        {"1,32,8,64,96,128", DType::bf16, false, false},   // GQA 32:8
        {"1,32,8,70,70,64", DType::f16, true, true},       // GQA + causal
        {"2,3,1,100,37,64", DType::f16, true, true},       // causal Sq > Skv: empty rows
        {"1,2,2,37,100,128", DType::bf16, true, true},     // causal Sq < Skv
        {"1,1,1,1,1,64", DType::f16, false, true},         // one key, one query
        {"3,2,2,129,255,96", DType::f16, false, false},    // D not a power of two
        {"1,4,2,200,333,256", DType::bf16, true, false},   // D = 256
        {"1,2,1,45,45,64", DType::f32, true, true},        // fp32 I/O
    };
    for (const Case& c : cases) {
        AttentionProblem p = AttentionProblem::from_shape(c.shape);
        p.dtype = c.dtype;
        p.causal = c.causal;
        p.with_lse = c.lse;
        INFO("problem " << p.to_string());
        AttentionHarness harness(rt, p, fresh_seed());
        INFO("seed " << harness.seed());
        RunOptions options;
        options.reference = ReferenceKind::cpu;
        RunReport r = harness.run(rt.variant("reference_attention", &p), options);
        CHECK(r.reference == "cpu-fp64");
        CHECK(r.error.non_finite == 0);
        CHECK(r.error.compared == p.q_elements());
        CHECK(r.error.max_abs <= tolerance_for(p.dtype));
        if (p.with_lse) CHECK(r.lse_error.max_abs <= 1e-4);
        CHECK(r.passed);
    }
}

TEST_CASE("the GPU reference agrees with the CPU reference", "[gpu][reference]") {
    test::TempDir dir;
    Runtime rt(test::test_config(dir.str()));
    AttentionProblem p = AttentionProblem::from_shape("1,4,2,300,257,64");
    p.causal = true;
    AttentionHarness harness(rt, p, fresh_seed());
    std::vector<double> cpu = harness.reference_output(ReferenceKind::cpu);
    std::vector<double> gpu = harness.reference_output(ReferenceKind::gpu);
    std::vector<float> gpu_f(gpu.begin(), gpu.end());
    ErrorStats e = compare(gpu_f, cpu);
    CHECK(e.non_finite == 0);
    CHECK(e.max_abs < 1e-5);
}
