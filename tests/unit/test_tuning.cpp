// Tuning records, resume, `auto` selection and the bench row schema — all without a GPU.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "flashcore/tools/bench.hpp"
#include "flashcore/driver.hpp"
#include "flashcore/runtime.hpp"
#include "flashcore/selection/auto.hpp"
#include "flashcore/tools/tune.hpp"
#include "test_support.hpp"

using namespace flashcore;
namespace fs = std::filesystem;

namespace {

// Times by rule: threads=64 -> 5 us, 128 -> 3 us, 256 -> 4 us; smem_kb=40 faults.
class FakeProber : public BatchProber {
public:
    std::vector<std::string> seen;
    void run(const std::vector<std::string>& variants, const ProbeRequest& base,
             const std::function<void(const std::string&, const ProbeResult&)>& on_result) override {
        CHECK(base.time);
        CHECK(base.verify);
        for (const auto& v : variants) {
            seen.push_back(v);
            ProbeResult r;
            r.verdict = Verdict::ok;
            r.us_graph = v.find("threads=64,") != std::string::npos ? 5.0 : v.find("threads=128,") != std::string::npos ? 3.0 : 4.0;
            r.us_graph_min = r.us_graph * 0.99;
            r.us_graph_max = r.us_graph * 1.02;
            r.max_abs_err = 1e-4;
            if (v.find("smem_kb=40") != std::string::npos) {
                r.verdict = Verdict::launch_fault;
                r.us_graph = -1;
                r.message = "planted fault";
            }
            on_result(v, r);
        }
    }
};

AttentionProblem mission() { return AttentionProblem::from_shape("1,8,8,512,512,64"); }

}  // namespace

TEST_CASE("problem buckets group shapes that share a tuned choice", "[tuning]") {
    CHECK(problem_bucket(mission()) == "d64-sq512-skv512-bh8-mha");
    CHECK(problem_bucket(AttentionProblem::from_shape("1,8,8,500,300,64")) == "d64-sq512-skv512-bh8-mha");
    CHECK(problem_bucket(AttentionProblem::from_shape("2,32,8,1,4000,128")) == "d128-sq1-skv4096-bh64-gqa");
    CHECK(problem_bucket(AttentionProblem::from_shape("1,1,1,3,3,64")) == "d64-sq16-skv16-bh1-mha");
}

TEST_CASE("tune times each candidate once, records it, and resumes", "[tuning]") {
    test::TempDir dir;
    Runtime rt(test::toy_config(dir.str()));
    TuneOptions options;
    options.template_id = "toy_attention";
    options.pattern = "toy_attention:threads=*";
    FakeProber prober;
    TuneReport first = tune(rt, mission(), test::fake_h100(), options, prober);
    CHECK(first.timed == 3);
    CHECK(first.reused == 0);
    REQUIRE(first.best);
    CHECK(first.best->variant == "toy_attention:threads=128,smem_kb=0,mode=plain");
    CHECK(first.best->us_median == 3.0);
    CHECK(first.best->spread() == Approx(0.03));
    CHECK(fs::exists(first.record_file));
    CHECK(first.record_file.find(dir.str() + "/v1/tune/toy_attention/sm_90/nvrtc-") == 0);

    SECTION("a second run re-times nothing") {
        FakeProber again;
        TuneReport second = tune(rt, mission(), test::fake_h100(), options, again);
        CHECK(again.seen.empty());
        CHECK(second.reused == 3);
        CHECK(second.best->variant == first.best->variant);
    }
    SECTION("a new candidate is the only one timed; faults are recorded, not fatal") {
        options.pattern = "toy_attention:threads=*,smem_kb=0|40";
        FakeProber more;
        TuneReport second = tune(rt, mission(), test::fake_h100(), options, more);
        CHECK(more.seen.size() == 3);
        for (const auto& v : more.seen) CHECK(v.find("smem_kb=40") != std::string::npos);
        CHECK(second.reused == 3);
        size_t faults = 0;
        for (const auto& r : second.records) faults += r.verdict == Verdict::launch_fault;
        CHECK(faults == 3);
        CHECK(second.best->us_median == 3.0);
    }
    SECTION("an interrupted tune resumes where it stopped") {
        // Drop the last record, as if the process had died before timing it.
        std::ifstream in(first.record_file);
        std::vector<std::string> lines;
        for (std::string l; std::getline(in, l);) lines.push_back(l);
        in.close();
        std::ofstream out(first.record_file, std::ios::trunc);
        for (size_t i = 0; i + 1 < lines.size(); ++i) out << lines[i] << "\n";
        out << lines.back().substr(0, lines.back().size() / 2);  // and a torn half-line
        out.close();
        FakeProber resumed;
        TuneReport second = tune(rt, mission(), test::fake_h100(), options, resumed);
        CHECK(resumed.seen.size() == 1);
        CHECK(second.reused == 2);
        CHECK(second.best->us_median == 3.0);
    }
    SECTION("--retune times everything again") {
        options.retune = true;
        FakeProber all;
        tune(rt, mission(), test::fake_h100(), options, all);
        CHECK(all.seen.size() == 3);
    }
}

TEST_CASE("tune records are keyed by problem bucket, dtype, mask and arch", "[tuning]") {
    test::TempDir dir;
    Runtime rt(test::toy_config(dir.str()));
    TuneKey base = tune_key(rt, "toy_attention", mission(), Target::parse("sm_90"));
    AttentionProblem causal = mission();
    causal.causal = true;
    AttentionProblem longer = AttentionProblem::from_shape("1,8,8,4096,4096,64");
    CHECK(tune_key(rt, "toy_attention", causal, Target::parse("sm_90")).file_path("r") != base.file_path("r"));
    CHECK(tune_key(rt, "toy_attention", longer, Target::parse("sm_90")).file_path("r") != base.file_path("r"));
    CHECK(tune_key(rt, "toy_attention", mission(), Target::parse("sm_89")).file_path("r") != base.file_path("r"));
    CHECK(base.template_digest.size() == 32);
}

TEST_CASE("a corrupt tuning record is skipped, the rest still count", "[tuning]") {
    test::TempDir dir;
    Runtime rt(test::toy_config(dir.str()));
    TuneStore store(dir.str());
    TuneKey key = tune_key(rt, "toy_attention", mission(), Target::parse("sm_90"));
    TuneRecord fast;
    fast.variant = "toy_attention:threads=256,smem_kb=0,mode=plain";
    fast.us_median = fast.us_min = fast.us_max = 2.0;
    REQUIRE(store.append(key, fast));
    std::ofstream(key.file_path(store.root()), std::ios::app) << "{\"variant\": \"x\", garbage\n\x01\x02\n";
    TuneRecord slow = fast;
    slow.variant = "toy_attention:threads=64,smem_kb=0,mode=plain";
    slow.us_median = 9.0;
    REQUIRE(store.append(key, slow));
    auto records = store.load(key);
    CHECK(records.size() == 2);
    CHECK(store.best(key)->variant == fast.variant);
}

TEST_CASE("auto picks the tuned record, else the heuristic, else the reference", "[tuning][auto]") {
    test::TempDir dir;
    Runtime rt(test::test_config(dir.str()));
    DeviceInfo h100 = test::fake_h100();
    AttentionProblem p = mission();

    Selection heuristic = select_variant(rt, p, h100);
    CHECK(heuristic.source == "heuristic");
    CHECK(heuristic.variant.rfind("attention_mma:", 0) == 0);
    CHECK(heuristic.variant.find("head_dim=64") != std::string::npos);

    // A tuned record for the bucket wins.
    TuneStore store(dir.str());
    TuneKey key = tune_key(rt, "attention_mma", p, Target::parse("sm_90"));
    TuneRecord r;
    r.variant = "attention_mma:block_m=64,block_n=64,warps=4,stages=1,splits=2,q_in_regs=0,occupancy=1,head_dim=64,dtype=f16,causal=0";
    r.us_median = 4.0;
    REQUIRE(store.append(key, r));
    Selection tuned = select_variant(rt, p, h100);
    CHECK(tuned.source == "tuned");
    CHECK(tuned.variant == rt.variant(r.variant).to_string());
    // Same bucket, different exact shape: still the tuned choice.
    CHECK(select_variant(rt, AttentionProblem::from_shape("1,8,8,500,480,64"), h100).source == "tuned");
    // A failed record is never chosen.
    TuneRecord broken = r;
    broken.verdict = Verdict::mismatch;
    REQUIRE(store.append(key, broken));
    CHECK(select_variant(rt, p, h100).source == "heuristic");

    // Shapes the fast family cannot take fall back to the reference.
    AttentionProblem odd = AttentionProblem::from_shape("1,2,2,64,64,100");  // D not a multiple of 8
    Selection fallback = select_variant(rt, odd, h100);
    CHECK(fallback.source == "fallback");
    CHECK(fallback.variant == "reference_attention:dtype=f16");
    AttentionProblem f32 = mission();
    f32.dtype = DType::f32;
    CHECK(select_variant(rt, f32, h100).variant == "reference_attention:dtype=f32");
    DeviceInfo turing = h100;
    turing.sm = 75;
    CHECK(select_variant(rt, p, turing).source == "fallback");
}

TEST_CASE("heuristic variants are valid for every bench shape", "[tuning][auto]") {
    test::TempDir dir;
    Runtime rt(test::test_config(dir.str()));
    for (DType dtype : {DType::f16, DType::bf16})
        for (AttentionProblem p : bench_shape_set("all")) {
            p.dtype = dtype;
            INFO(p.to_string());
            Selection s = select_variant(rt, p, test::fake_h100());
            CHECK(s.source == "heuristic");
            CHECK_NOTHROW(rt.variant(s.variant, &p));
        }
}

TEST_CASE("the heuristic follows its measured rules", "[tuning][auto]") {
    test::TempDir dir;
    Runtime rt(test::test_config(dir.str()));
    // attention_mma's own rules (on sm_90 the wgmma family takes large prefill first).
    std::vector<AutoFamily> mma_only;
    for (const AutoFamily& f : auto_families())
        if (f.template_id == "attention_mma") mma_only.push_back(f);
    REQUIRE(mma_only.size() == 1);
    auto pick = [&](const char* shape, bool causal = false) {
        AttentionProblem p = AttentionProblem::from_shape(shape);
        p.causal = causal;
        Selection s = select_variant(rt, p, test::fake_h100(), mma_only);
        CHECK(s.source == "heuristic");
        return s.variant;
    };
    // Small grid at D=64 (the mission shape): 32-row tiles, 2 row warps x 4 kv groups.
    for (bool causal : {false, true})
        CHECK(pick("1,8,8,512,512,64", causal).find("block_m=32,block_n=64,warps=8,kv_warps=4,stages=2,splits=1,") !=
              std::string::npos);
    // ... launched with programmatic dependent launch on sm_90+ only.
    CHECK(pick("1,8,8,512,512,64").find(",pdl=1,") != std::string::npos);
    // Decode: one 16-row tile, 4 kv warps, splits until about half of the 132 SMs hold a CTA.
    CHECK(pick("2,16,16,1,4096,128").find("block_m=16,block_n=32,warps=4,kv_warps=4,stages=2,splits=2,") !=
          std::string::npos);
    // D=128 grid that 128-row tiles cannot fill.
    CHECK(pick("1,32,32,512,512,128").find("block_m=64,block_n=128,warps=4,kv_warps=1,stages=1,splits=1,") !=
          std::string::npos);
    // Large problems keep FlashAttention-2's tiling.
    CHECK(pick("4,32,32,4096,4096,64").find("block_m=128,block_n=128,warps=4,kv_warps=1,stages=2,splits=1,") !=
          std::string::npos);
    CHECK(pick("4,16,16,4096,4096,128", true).find("block_m=128,block_n=64,warps=4,kv_warps=1,stages=2,") !=
          std::string::npos);
}

TEST_CASE("on sm_90 auto gives prefill to attention_wgmma and the rest to attention_mma", "[tuning][auto]") {
    test::TempDir dir;
    Runtime rt(test::test_config(dir.str()));
    auto pick = [&](const char* shape, bool causal, DeviceInfo device) {
        AttentionProblem p = AttentionProblem::from_shape(shape);
        p.causal = causal;
        p.dtype = DType::bf16;
        Selection s = select_variant(rt, p, device);
        INFO(p.to_string() << " -> " << s.variant << " (" << s.why << ")");
        CHECK(s.source == "heuristic");
        return s.variant;
    };
    DeviceInfo h200 = test::fake_h100();
    for (bool causal : {false, true}) {
        // D=128 prefill: 2 consumer warpgroups, 128-key tiles.
        CHECK(pick("4,16,16,4096,4096,128", causal, h200).rfind("attention_wgmma:consumer_wgs=2,block_n=128,stages=2,", 0) == 0);
        // D=64 prefill: 3 consumer warpgroups.
        CHECK(pick("4,32,32,4096,4096,64", causal, h200).rfind("attention_wgmma:consumer_wgs=3,block_n=128,", 0) == 0);
        // Head dims between the measured ones and odd sequence lengths.
        CHECK(pick("1,8,8,1000,1000,80", causal, h200).rfind("attention_wgmma:", 0) == 0);
        CHECK(pick("2,8,2,4097,4097,160", causal, h200).rfind("attention_wgmma:", 0) == 0);
        CHECK(pick("2,8,8,8192,8192,256", causal, h200).find(causal ? "block_n=64," : "block_n=80,") != std::string::npos);
        // Grids the large tiles leave short of the SMs take fewer consumer warpgroups.
        CHECK(pick("1,8,8,1024,1024,64", causal, h200).rfind("attention_wgmma:consumer_wgs=1,block_n=128,", 0) == 0);
        CHECK(pick("1,8,8,2048,2048,64", causal, h200).rfind("attention_wgmma:consumer_wgs=2,block_n=128,", 0) == 0);
        CHECK(pick("1,4,4,2048,2048,256", causal, h200).rfind("attention_wgmma:consumer_wgs=1,", 0) == 0);
        // Long causal prefill runs without the persistent scheduler.
        CHECK(pick("2,16,16,8192,8192,128", causal, h200).find(causal ? "persistent=0" : "persistent=1") !=
              std::string::npos);
        CHECK(pick("8,16,16,2048,2048,128", causal, h200).find("persistent=1") != std::string::npos);
        // Head-by-head tile order, except for a persistent causal kernel (its round robin would
        // give each CTA one query rank).
        CHECK(pick("4,32,32,4096,4096,64", causal, h200).find(causal ? "head_major=0" : "head_major=1") !=
              std::string::npos);
        CHECK(pick("2,16,16,8192,8192,128", causal, h200).find("head_major=1") != std::string::npos);
        // Decode and the small D=64 mission grid stay on attention_mma.
        CHECK(pick("2,32,8,1,4096,128", causal, h200).rfind("attention_mma:", 0) == 0);
        CHECK(pick("1,8,8,512,512,64", causal, h200).rfind("attention_mma:", 0) == 0);
        // Devices that cannot run sm_90a code keep attention_mma.
        DeviceInfo l4 = h200;
        l4.sm = 89;
        l4.smem_per_block_optin = 101376;
        CHECK(pick("4,16,16,4096,4096,128", causal, l4).rfind("attention_mma:", 0) == 0);
        DeviceInfo blackwell = h200;
        blackwell.sm = 100;
        CHECK(pick("4,16,16,4096,4096,128", causal, blackwell).rfind("attention_mma:", 0) == 0);
    }
    // A driver without TMA tensor maps (before CUDA 12.0) keeps attention_mma.
    DeviceInfo old_driver = h200;
    old_driver.driver_version = 11080;
    CHECK(pick("4,16,16,4096,4096,128", false, old_driver).rfind("attention_mma:", 0) == 0);
}

TEST_CASE("bench rows follow the sdpa_anchor.py schema", "[bench]") {
    CHECK(bench_shape_set("mission").size() == 2);
    CHECK(bench_shape_set("small").size() == 6);
    CHECK(bench_shape_set("sweep").size() == 24);
    CHECK(bench_shape_set("all").size() == 32);
    CHECK_THROWS(bench_shape_set("huge"));
    for (const auto& p : bench_shape_set("sweep")) {
        CHECK(p.B * p.Sq == 16384);
        CHECK(p.Hq * p.D == 2048);
    }
    BenchRow row;
    row.impl = "flashcore-auto";
    row.problem = mission();
    row.problem.dtype = DType::bf16;
    row.us_graph = 4.0;
    row.us_eager = 6.5;
    row.max_abs_err = 0.004;
    auto j = nlohmann::json::parse(bench_row_json(row));
    for (const char* field : {"impl", "dtype", "B", "Hq", "Hkv", "Sq", "Skv", "D", "causal", "us_graph", "us_eager",
                              "tflops", "max_abs_err", "device"})
        CHECK(j.contains(field));
    CHECK(j["dtype"] == "bfloat16");
    CHECK(j["causal"] == false);
    CHECK(j["tflops"].get<double>() == Approx(mission().flops() / 4.0 / 1e6));
    row.max_abs_err.reset();
    CHECK(nlohmann::json::parse(bench_row_json(row))["max_abs_err"].is_null());
}

TEST_CASE("tune's default family is the highest-ranked auto family the GPU runs", "[tuning]") {
    test::TempDir dir;
    Runtime rt(test::test_config(dir.str()));
    CHECK(default_tune_family(rt, test::fake_h100()) == "attention_wgmma");
    AttentionProblem prefill = AttentionProblem::from_shape("4,16,16,4096,4096,128");
    AttentionProblem decode = AttentionProblem::from_shape("8,32,8,1,8192,128");
    CHECK(default_tune_family(rt, test::fake_h100(), &prefill) == "attention_wgmma");
    CHECK(default_tune_family(rt, test::fake_h100(), &decode) == "attention_mma");
    DeviceInfo l4 = test::fake_h100();
    l4.sm = 89;
    CHECK(default_tune_family(rt, l4, &prefill) == "attention_mma");
    DeviceInfo turing = test::fake_h100();
    turing.sm = 75;
    CHECK_THROWS_WITH(default_tune_family(rt, turing), Catch::Contains("no `auto` family runs on sm_75"));
}
