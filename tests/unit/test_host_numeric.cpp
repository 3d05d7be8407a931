#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "flashcore/tools/host_numeric.hpp"

using namespace flashcore;

TEST_CASE("fp16 and bf16 conversions round to nearest even", "[numeric]") {
    for (float x : {0.f, 1.f, -2.5f, 65504.f, 6.1035156e-05f, 5.9604645e-08f, 0.1f, -3.14159f})
        CHECK(half_bits_to_float(float_to_half_bits(x)) == Approx(x).epsilon(1e-3));
    CHECK(float_to_half_bits(1.f) == 0x3c00);
    CHECK(float_to_half_bits(-2.f) == 0xc000);
    CHECK(float_to_half_bits(65520.f) == 0x7c00);           // rounds up to inf
    CHECK(float_to_half_bits(1.f + 1.f / 2048) == 0x3c00);  // tie -> even
    CHECK(float_to_half_bits(1.f + 3.f / 2048) == 0x3c02);  // tie -> even (up)
    CHECK(std::isnan(half_bits_to_float(0x7e00)));
    CHECK(float_to_bf16_bits(1.f) == 0x3f80);
    CHECK(bf16_bits_to_float(float_to_bf16_bits(3.140625f)) == 3.140625f);
    CHECK(std::isnan(bf16_bits_to_float(float_to_bf16_bits(std::nanf("")))));
    // Every half value survives a round trip through float.
    for (std::uint32_t bits = 0; bits < 0x7c00; ++bits)
        REQUIRE(float_to_half_bits(half_bits_to_float(static_cast<std::uint16_t>(bits))) == bits);
}

TEST_CASE("the CPU reference obeys the attention semantics", "[numeric]") {
    AttentionProblem p = AttentionProblem::from_shape("2,4,2,5,7,8");
    p.causal = true;
    AttentionInputs in = make_random_inputs(p, 42);
    std::vector<double> lse;
    std::vector<double> out = cpu_reference_attention(p, in, &lse);
    // Query 0 of a causal 5x7 problem sees keys 0..2 (bottom-right alignment).
    std::vector<double> s, prob;
    cpu_reference_intermediates(p, in, &s, &prob);
    CHECK(std::isfinite(s[2]));
    CHECK(std::isinf(s[3]));
    CHECK(prob[3] == 0.0);
    double row_sum = prob[0] + prob[1] + prob[2];
    CHECK(row_sum == Approx(1.0));
    // O row 0 of head 3 (kv head 1) is the P-weighted mix of that kv head's values.
    const int b = 1, h = 3, hk = 1;
    for (int d = 0; d < p.D; ++d) {
        double expect = 0;
        for (int j = 0; j < 7; ++j)
            expect += prob[((std::size_t(b) * p.Hq + h) * p.Sq + 0) * p.Skv + j] *
                      in.v[((std::size_t(b) * p.Hkv + hk) * p.Skv + j) * p.D + d];
        CHECK(out[((std::size_t(b) * p.Hq + h) * p.Sq + 0) * p.D + d] == Approx(expect).margin(1e-12));
    }
    CHECK(std::isfinite(lse[0]));
}

TEST_CASE("rows with no visible key give zero output and -inf lse", "[numeric]") {
    AttentionProblem p = AttentionProblem::from_shape("1,1,1,6,3,4");
    p.causal = true;  // queries 0..2 see nothing: i + Skv - Sq < 0
    AttentionInputs in = make_random_inputs(p, 7);
    std::vector<double> lse;
    std::vector<double> out = cpu_reference_attention(p, in, &lse);
    for (int d = 0; d < 4; ++d) CHECK(out[2 * 4 + d] == 0.0);
    CHECK(std::isinf(lse[2]));
    CHECK(std::isfinite(lse[3]));
    // Query 3 sees exactly key 0: O = v0.
    for (int d = 0; d < 4; ++d) CHECK(out[3 * 4 + d] == Approx(in.v[d]));
}

TEST_CASE("inputs are fresh per seed and rounded to the dtype", "[numeric]") {
    AttentionProblem p = AttentionProblem::from_shape("1,2,2,16,16,64");
    AttentionInputs a = make_random_inputs(p, 1), b = make_random_inputs(p, 2);
    CHECK(a.q != b.q);
    for (float x : a.q) REQUIRE(half_bits_to_float(float_to_half_bits(x)) == x);
    double mean = 0;
    for (float x : a.q) mean += x;
    CHECK(std::fabs(mean / a.q.size()) < 0.2);
    CHECK(decode(a.q_bytes, DType::f16) == a.q);
}

TEST_CASE("comparisons flag NaN and respect matching infinities", "[numeric]") {
    const double inf = std::numeric_limits<double>::infinity();
    ErrorStats ok = compare(std::vector<float>{1.f, -INFINITY, 2.f}, std::vector<double>{1.0005, -inf, 2.0});
    CHECK(ok.non_finite == 0);
    CHECK(ok.max_abs == Approx(0.0005).epsilon(0.01));
    CHECK(ok.within(1e-3));
    ErrorStats bad = compare(std::vector<float>{1.f, NAN}, std::vector<double>{1.0, 2.0});
    CHECK(bad.non_finite == 1);
    CHECK(bad.worst_index == 1);
    CHECK_FALSE(bad.within(1.0));
    CHECK_FALSE(compare(std::vector<float>{}, std::vector<double>{}).within(1.0));
}

TEST_CASE("problems validate and parse", "[numeric]") {
    AttentionProblem p = AttentionProblem::from_shape("1,8,512,64");
    CHECK(p.Hq == 8);
    CHECK(p.Hkv == 8);
    CHECK(p.Skv == 512);
    CHECK(p.flops() == 4.0 * 8 * 512 * 512 * 64);
    CHECK_THROWS(AttentionProblem::from_shape("1,8"));
    CHECK_THROWS(AttentionProblem::from_shape("1,8,x,64"));
    CHECK_THROWS(AttentionProblem::from_shape("1,6,4,8,8,64").validate());  // 6 % 4
    CHECK_THROWS(AttentionProblem::from_shape("1,8,8,0,8,64").validate());
    CHECK_THROWS(AttentionProblem::from_shape("1,8,8,8,8,512").validate());
}
