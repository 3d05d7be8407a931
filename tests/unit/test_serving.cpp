// Serving shapes (issue 10) without a GPU: attention_mma's padded head dims and PackGQA in the
// schema (derived sizes, launch grid, workspace), the heuristic's rules for decode, few-head
// chunked prefill and padded head dims, and the decode / headdims / serving bench sets.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "flashcore/launch.hpp"
#include "flashcore/problem_names.hpp"
#include "flashcore/render.hpp"
#include "flashcore/runtime.hpp"
#include "flashcore/selection/auto.hpp"
#include "flashcore/tools/bench.hpp"
#include "test_support.hpp"

using namespace flashcore;

namespace {

std::int64_t derived(const Variant& v, const std::string& name) {
    for (const auto& [n, value] : v.derived())
        if (n == name) return value;
    FAIL("no derived value " << name);
    return -1;
}

AttentionProblem problem(const char* shape, bool causal = false) {
    AttentionProblem p = AttentionProblem::from_shape(shape);
    p.causal = causal;
    return p;
}

}  // namespace

TEST_CASE("attention_mma takes every head dim that is a multiple of 8 up to 256", "[serving][schema]") {
    test::TempDir dir;
    Runtime rt(test::test_config(dir.str()));
    for (int d = 8; d <= 256; d += 8) {
        INFO("D=" << d);
        AttentionProblem p = problem(("1,2,2,64,64," + std::to_string(d)).c_str());
        Variant v = rt.variant("attention_mma:block_m=64,block_n=64,warps=4,stages=1", &p);
        const std::int64_t d_pad = derived(v, "d_pad"), row = derived(v, "row_elems");
        CHECK(d_pad % 16 == 0);
        CHECK(d_pad >= d);
        CHECK(d_pad - d < 16);
        CHECK(row % 64 == 0);  // whole 128-byte swizzle spans
        CHECK(row >= d_pad);
        CHECK(row - d_pad < 64);
        CHECK(derived(v, "q_bytes") == 64 * row * 2);
        CHECK(derived(v, "kv_tile_bytes") == 64 * row * 2);
        CHECK(derived(v, "partial_bytes") == 64 * (4 * d_pad + 32));
    }
    // D=64/128/256 are their own padding: the layouts of the original variants.
    AttentionProblem p128 = problem("1,2,2,64,64,128");
    Variant v128 = rt.variant("attention_mma:block_m=128,block_n=64,warps=4,stages=2", &p128);
    CHECK(derived(v128, "d_pad") == 128);
    CHECK(derived(v128, "smem_bytes") == (128 + 2 * 2 * 64) * 128 * 2);
    // D=80: MMAs on 80 columns, rows of 128 elements in shared memory.
    AttentionProblem p80 = problem("1,2,2,64,64,80");
    Variant v80 = rt.variant("attention_mma:block_m=128,block_n=64,warps=4,stages=2", &p80);
    CHECK(derived(v80, "d_pad") == 80);
    CHECK(derived(v80, "row_elems") == 128);
    CHECK(derived(v80, "acc_regs") == 2 * (80 / 2 + 64 / 2));
}

TEST_CASE("head dims attention_mma cannot take are refused with what it supports", "[serving][schema]") {
    test::TempDir dir;
    Runtime rt(test::test_config(dir.str()));
    AttentionProblem p = problem("1,2,2,64,64,100");
    CHECK_THROWS_WITH(rt.variant("attention_mma:block_m=64,block_n=64,warps=4", &p), Catch::Contains("head_dim"));
    // A variant built for another D names the supported range in the problem check.
    Variant v = rt.variant("attention_mma:block_m=64,block_n=64,warps=4,head_dim=96");
    AttentionProblem p64 = problem("1,2,2,64,64,64");
    std::string message;
    const DeviceInfo h100 = test::fake_h100();
    NameLookup names = v.names(problem_names(p64, &h100));
    for (const auto& check : v.schema().problem_checks)
        if (check.expr.evaluate_int(names) == 0) message += check.message;
    CHECK_THAT(message, Catch::Contains("multiple of 8 from 8 to 256"));
    // The register budget counts the padded columns: 128x128 tiles at D=200 (d_pad 208) do not fit.
    CHECK_THROWS_WITH(rt.variant("attention_mma:block_m=128,block_n=128,warps=4,stages=1,head_dim=200"),
                      Catch::Contains("d_pad=208"));
}

TEST_CASE("pack_gqa launches one CTA row per KV head and sizes the split-KV workspace by packed tiles", "[serving][schema]") {
    test::TempDir dir;
    Runtime rt(test::test_config(dir.str()));
    // B=4, Hq/Hkv = 32/8, Sq=8: 32 packed rows per KV head.
    AttentionProblem p = problem("4,32,8,8,8192,128", true);
    Variant packed = rt.variant("attention_mma:block_m=16,block_n=32,warps=4,kv_warps=4,splits=4,pack_gqa=1", &p);
    LaunchDims d = derive_launch(packed, problem_names(p));
    CHECK(d.grid[0] == 2 * 4);  // ceil(8 * 4 / 16) tiles x 4 splits
    CHECK(d.grid[1] == 8);      // KV heads
    CHECK(d.grid[2] == 4);
    const std::size_t tiles = 4 * 8 * 2;
    const std::size_t counters = (tiles * 4 + 255) / 256 * 256;
    CHECK(d.workspace_zero_bytes == counters);
    CHECK(d.workspace_bytes == counters + tiles * 4 * std::size_t(derived(packed, "partial_bytes")));
    // Without packing: one CTA row per query head, as before.
    Variant plain = rt.variant("attention_mma:block_m=16,block_n=32,warps=4,kv_warps=4,splits=4", &p);
    LaunchDims q = derive_launch(plain, problem_names(p));
    CHECK(q.grid[0] == 1 * 4);
    CHECK(q.grid[1] == 32);
    CHECK(render_prelude(packed).find("#define FC_PACK_GQA 1") != std::string::npos);
}

TEST_CASE("auto runs attention_mma for every head dim that is a multiple of 8", "[serving][auto]") {
    test::TempDir dir;
    Runtime rt(test::test_config(dir.str()));
    for (int d = 8; d <= 256; d += 8)
        for (const char* shape : {"1,8,8,1,4097,", "4,16,16,2048,2048,", "2,8,2,77,1013,"})
            for (bool causal : {false, true}) {
                AttentionProblem p = problem((shape + std::to_string(d)).c_str(), causal);
                INFO(p.to_string());
                Selection s = select_variant(rt, p, test::fake_h100());
                CHECK(s.source == "heuristic");
                // sm_90 gives prefill to attention_wgmma; either way never the reference.
                CHECK((s.variant.rfind("attention_mma:", 0) == 0 || s.variant.rfind("attention_wgmma:", 0) == 0));
                // ... also on an L4 (sm_89, 99 KB of shared memory) and an A100 (sm_80).
                for (int sm : {80, 89}) {
                    DeviceInfo small = test::fake_h100();
                    small.sm = sm;
                    small.num_sms = sm == 80 ? 108 : 58;
                    small.smem_per_block_optin = known_smem_optin(sm);
                    CHECK(select_variant(rt, p, small).variant.rfind("attention_mma:", 0) == 0);
                }
            }
    // Not a multiple of 8: the reference, with its warning (docs/attention_mma.md).
    CHECK(select_variant(rt, problem("1,2,2,64,64,100"), test::fake_h100()).source == "fallback");
}

TEST_CASE("the heuristic's serving rules (to be measured on the H200)", "[serving][auto]") {
    test::TempDir dir;
    Runtime rt(test::test_config(dir.str()));
    std::vector<AutoFamily> mma_only;
    for (const AutoFamily& f : auto_families())
        if (f.template_id == "attention_mma") mma_only.push_back(f);
    auto pick = [&](const char* shape, bool causal = false) {
        Selection s = select_variant(rt, problem(shape, causal), test::fake_h100(), mma_only);
        CHECK(s.source == "heuristic");
        return s.variant;
    };
    auto has = [](const std::string& variant, const char* fields) {
        INFO(variant);
        CHECK(variant.find(fields) != std::string::npos);
    };
    // Single-token decode, GQA 32:8: PackGQA (4 rows per KV head in one 16-row tile), 4 kv groups,
    // split-KV until the 132 SMs hold about one CTA each.
    has(pick("1,32,8,1,4096,128"), "block_m=16,block_n=32,warps=4,kv_warps=4,stages=2,splits=16,");
    has(pick("1,32,8,1,4096,128"), "pack_gqa=1");
    has(pick("8,32,8,1,8192,128"), "block_m=16,block_n=32,warps=4,kv_warps=4,stages=2,splits=2,");
    has(pick("32,32,8,1,16384,128"), "splits=1,");
    has(pick("32,32,8,1,16384,128"), "pack_gqa=1");
    has(pick("64,32,8,1,2048,128"), "splits=1,");
    // Speculative decode: 8 x 4 = 32 packed rows -> 32-row tile; 16 x 4 = 64 rows -> 64-row tile.
    has(pick("4,32,8,8,8192,128", true), "block_m=32,block_n=32,warps=4,kv_warps=4,stages=2,splits=4,");
    has(pick("4,32,8,16,32768,128", true), "block_m=64,block_n=32,warps=8,kv_warps=2,stages=2,splits=4,");
    has(pick("4,32,8,16,32768,128", true), "pack_gqa=1");
    // MQA decode at D=256: one stage (the rings of four kv groups must fit).
    has(pick("2,16,1,1,8192,256"), "block_m=16,block_n=32,warps=4,kv_warps=4,stages=1,");
    // An L4 (sm_89, 99 KB of shared memory) gets the packed tile with single-stage rings.
    DeviceInfo l4 = test::fake_h100();
    l4.sm = 89;
    l4.num_sms = 58;
    l4.smem_per_block_optin = known_smem_optin(89);
    has(select_variant(rt, problem("1,32,8,1,4096,128"), l4).variant,
        "block_m=16,block_n=32,warps=4,kv_warps=4,stages=1,");
    has(select_variant(rt, problem("1,32,8,1,4096,128"), l4).variant, "pack_gqa=1");
    // Without GQA the measured decode rule stays (B=2,Hq=16,Sq=1,Skv=4096: 28.3 us on the H100).
    has(pick("2,16,16,1,4096,128"), "block_m=16,block_n=32,warps=4,kv_warps=4,stages=2,splits=2,");
    has(pick("2,16,16,1,4096,128"), "pack_gqa=0");
    // Few-head chunked prefill: 64x64 tiles split along the keys until the grid fills.
    has(pick("1,8,1,256,8192,128", true), "block_m=64,block_n=64,warps=4,kv_warps=1,stages=2,splits=8,");
    has(pick("1,16,2,512,16384,128", true), "block_m=64,block_n=64,warps=4,kv_warps=1,stages=2,splits=2,");
    // Padded head dims take their bucket's tiling (headdims set).
    has(pick("4,16,16,2048,2048,32"), "block_m=128,block_n=128,warps=4,kv_warps=1,stages=2,");
    has(pick("4,16,16,2048,2048,80", true), "block_m=128,block_n=64,warps=4,kv_warps=1,stages=2,");
    has(pick("4,16,16,2048,2048,96"), "block_m=128,block_n=64,warps=4,kv_warps=1,stages=2,");
    has(pick("4,16,16,2048,2048,160"), "block_m=64,block_n=32,warps=4,kv_warps=1,stages=2,");
    has(pick("4,16,16,2048,2048,192", true), "block_m=64,block_n=32,warps=4,kv_warps=1,stages=2,");
}

TEST_CASE("bench sets decode, headdims and serving mirror sdpa_anchor.py", "[serving][bench]") {
    const auto decode = bench_shape_set("decode");
    const auto headdims = bench_shape_set("headdims");
    REQUIRE(decode.size() == 8);
    REQUIRE(headdims.size() == 12);
    CHECK(bench_shape_set("serving").size() == 20);
    // sdpa_anchor.py's decode list, in its order: (B, Hq, Hkv, Sq, Skv, D, causal).
    const std::vector<std::string> expected = {"1,32,8,1,4096,128",    "8,32,8,1,8192,128",   "32,32,8,1,16384,128",
                                               "64,32,8,1,2048,128",   "4,32,8,8,8192,128",   "4,32,8,16,32768,128",
                                               "1,8,1,256,8192,128",   "1,16,2,512,16384,128"};
    for (size_t i = 0; i < decode.size(); ++i) {
        const AttentionProblem& p = decode[i];
        CHECK(std::to_string(p.B) + "," + std::to_string(p.Hq) + "," + std::to_string(p.Hkv) + "," + std::to_string(p.Sq) +
                  "," + std::to_string(p.Skv) + "," + std::to_string(p.D) ==
              expected[i]);
        CHECK(p.causal == (i >= 4));
    }
    int d_index = 0;
    for (int d : {32, 80, 96, 160, 192, 256})
        for (bool c : {false, true}) {
            const AttentionProblem& p = headdims[d_index++];
            CHECK(p.B == 4);
            CHECK(p.Hq == 16);
            CHECK(p.Hkv == 16);
            CHECK(p.Sq == 2048);
            CHECK(p.Skv == 2048);
            CHECK(p.D == d);
            CHECK(p.causal == c);
        }
    CHECK_THROWS_WITH(bench_shape_set("decoder"), Catch::Contains("decode, headdims, serving"));
    // gbps: Q, K, V read once and O written once, per microsecond / 1e3.
    BenchRow row;
    row.impl = "flashcore-auto";
    row.problem = decode[0];
    row.problem.dtype = DType::bf16;
    row.us_graph = 5.0;
    auto j = nlohmann::json::parse(bench_row_json(row));
    const double bytes = (2.0 * 32 * 128 + 2.0 * 8 * 4096 * 128) * 2;
    CHECK(bench_bytes(row.problem) == bytes);
    CHECK(j["gbps"].get<double>() == Approx(bytes / 5.0 / 1e3));
    CHECK(j["Hkv"] == 8);
}

TEST_CASE("heuristic variants are valid for every serving bench shape", "[serving][auto]") {
    test::TempDir dir;
    Runtime rt(test::test_config(dir.str()));
    for (DType dtype : {DType::f16, DType::bf16})
        for (AttentionProblem p : bench_shape_set("serving")) {
            p.dtype = dtype;
            INFO(p.to_string());
            Selection s = select_variant(rt, p, test::fake_h100());
            CHECK(s.source == "heuristic");
            CHECK_NOTHROW(rt.variant(s.variant, &p));
        }
}

TEST_CASE("every tools/tune_plan.txt line expands to valid variants of its shape", "[serving][tuning]") {
    test::TempDir dir;
    Runtime rt(test::test_config(dir.str()));
    std::ifstream plan(std::string(FLASHCORE_SOURCE_TEMPLATE_DIR) + "/../tools/tune_plan.txt");
    REQUIRE(plan);
    const DeviceInfo h100 = test::fake_h100();
    int lines = 0, serving = 0;
    for (std::string line; std::getline(plan, line);) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream fields(line);
        std::string shape, dtypes, causal, pattern;
        fields >> shape >> dtypes >> causal >> pattern;
        INFO(line);
        AttentionProblem p = AttentionProblem::from_shape(shape);
        p.causal = causal.back() == '1';
        p.dtype = parse_dtype(dtypes.substr(0, dtypes.find(',')));
        size_t rejected = 0;
        auto variants = expand_variant_pattern(pattern, rt.templates(), &rejected, problem_names(p, &h100));
        CHECK(!variants.empty());
        ++lines;
        serving += p.Hq != p.Hkv || (p.D != 64 && p.D != 128 && p.D != 256) ? 1 : 0;
    }
    CHECK(lines >= 10);
    CHECK(serving >= 10);  // decode under GQA and the padded head dims have buckets of their own
}
