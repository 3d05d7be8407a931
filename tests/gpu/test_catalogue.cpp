// The correctness catalogues (tests/catalogue/<template>.txt) on the GPU: every listed variant
// on the mission shape and on shapes that are not tile multiples (tails, Sq = 1, Sq != Skv,
// GQA, causal with empty rows, decode with GQA 32:8 and MQA over Skv = 4097), each run
// crash-isolated in `flashcore probe` children with fresh inputs, NaN-poisoned outputs and a
// CPU fp64 reference.
#include <catch2/catch.hpp>

#include <fstream>
#include <iostream>
#include <map>

#include "flashcore/tools/attention_harness.hpp"
#include "flashcore/error.hpp"
#include "flashcore/problem_names.hpp"
#include "flashcore/tools/host_numeric.hpp"
#include "flashcore/runtime.hpp"
#include "flashcore/selection/auto.hpp"
#include "flashcore/tools/parallel.hpp"
#include "flashcore/tools/tune.hpp"
#include "test_support.hpp"

using namespace flashcore;

namespace {

std::vector<std::string> read_catalogue(const std::string& template_id) {
    std::ifstream in(std::string(FLASHCORE_CATALOGUE_DIR) + "/" + template_id + ".txt");
    REQUIRE(in);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) {
        size_t b = line.find_first_not_of(" \t");
        if (b == std::string::npos || line[b] == '#') continue;
        out.push_back(line.substr(b, line.find_last_not_of(" \t\r") - b + 1));
    }
    return out;
}

struct Outcome {
    size_t runs = 0, passed = 0, skipped = 0;
    std::map<std::string, double> worst;  // per dtype
};

// Runs the catalogue of `template_id` and returns its tally; CHECKs every run.
// The mission shape, tails, Sq = 1, Sq != Skv, GQA, causal with empty rows; then decode and
// speculative decode over an odd Skv: GQA 32:8 at Sq = 1 and 16 (4 and 64 packed rows), MQA at
// Sq = 5 (40 packed rows, a partial tile).
const std::vector<std::string> kDefaultShapes = {"1,8,8,512,512", "2,4,2,77,1013", "1,4,4,1,333", "1,2,1,1013,77",
                                                 "1,32,8,1,4097", "2,32,8,16,4097", "1,8,1,5,4097"};

Outcome run_catalogue(const std::string& template_id, const std::vector<std::string>& shapes = kDefaultShapes) {
    test::TempDir cache;
    Runtime rt(test::test_config(cache.str()));
    const DeviceInfo& device = rt.device().info();
    // Group by the fields a problem must match (dtype, head dim, causal): one child per group
    // and shape times all of the group's variants on the same inputs.
    std::map<std::tuple<std::string, int, bool>, std::vector<std::string>> groups;
    Outcome outcome;
    for (const auto& text : read_catalogue(template_id)) {
        Variant v = rt.variant(text);
        auto dtype = to_string(v.value("dtype"));
        int d = static_cast<int>(v.int_value("head_dim"));
        bool causal = v.int_value("causal") != 0;
        LaunchDims dims = derive_launch(v, problem_names(AttentionProblem::from_shape("1,1,1,1,1," + std::to_string(d)), &device));
        if (dims.dynamic_smem > std::size_t(device.smem_per_block_optin)) {
            ++outcome.skipped;  // does not fit this GPU: the launch test covers the refusal
            continue;
        }
        groups[{dtype, d, causal}].push_back(v.to_string());
    }
    // Compile everything first, in parallel (compile-only), so the probes load from the cache.
    std::vector<std::string> all;
    for (const auto& [group, variants] : groups) all.insert(all.end(), variants.begin(), variants.end());
    Target target;
    target.sm = device.sm;
    parallel_for(all.size(), [&](size_t i) {
        try {
            rt.build(rt.variant(all[i]), target);
        } catch (const Error&) {
            // the probe reports it as compile_error with the log
        }
    });
    ProcessBatchProber prober(test::cli_path());
    for (const auto& [group, variants] : groups) {
        const auto& [dtype, d, causal] = group;
        for (const std::string& shape : shapes) {
            ProbeRequest request;
            request.problem = AttentionProblem::from_shape(shape + "," + std::to_string(d));
            request.problem.dtype = parse_dtype(dtype);
            request.problem.causal = causal;
            request.problem.with_lse = true;
            request.seed = fresh_seed();
            request.env["FLASHCORE_CACHE_DIR"] = cache.str();
            request.timeout = std::chrono::seconds(120);
            prober.run(variants, request, [&](const std::string& variant, const ProbeResult& r) {
                ++outcome.runs;
                INFO(variant << " on " << request.problem.to_string() << " (seed " << request.seed << "): "
                             << to_string(r.verdict) << " " << r.message);
                CHECK(r.verdict == Verdict::ok);
                if (r.verdict == Verdict::ok) {
                    ++outcome.passed;
                    double& worst = outcome.worst[dtype];
                    worst = std::max(worst, r.max_abs_err);
                }
            });
        }
    }
    std::cout << template_id << " catalogue: " << outcome.passed << "/" << outcome.runs << " runs passed, "
              << outcome.skipped << " variants skipped (do not fit " << device.name << ")";
    for (const auto& [dtype, worst] : outcome.worst) std::cout << "; worst " << dtype << " error " << worst;
    std::cout << std::endl;
    return outcome;
}

}  // namespace

TEST_CASE("attention_wmma catalogue is correct on awkward shapes", "[gpu][catalogue][wmma]") {
    Outcome o = run_catalogue("attention_wmma");
    CHECK(o.runs > 0);
    CHECK(o.passed == o.runs);
}

TEST_CASE("attention_mma catalogue is correct on awkward shapes", "[gpu][catalogue][mma]") {
    Outcome o = run_catalogue("attention_mma");
    CHECK(o.runs > 0);
    CHECK(o.passed == o.runs);
}

TEST_CASE("attention_wgmma catalogue is correct on awkward shapes", "[gpu][catalogue][wgmma]") {
    test::TempDir probe_dir;
    Runtime rt(test::test_config(probe_dir.str()));
    if (rt.device().info().sm != 90) {
        WARN("attention_wgmma runs on sm_90 only; this GPU is sm_" << rt.device().info().sm);
        return;
    }
    // Tails of every tile size (1, 77, 1013, 4097), Sq != Skv both ways, GQA 32:8 and MQA.
    Outcome o = run_catalogue("attention_wgmma", {"1,8,8,512,512", "2,4,2,77,1013", "1,4,4,1,333", "1,2,1,1013,77",
                                                  "1,32,8,129,4097", "2,3,1,4097,200"});
    CHECK(o.runs > 0);
    CHECK(o.passed == o.runs);
}

TEST_CASE("auto through the one-call API is correct on odd shapes", "[gpu][auto]") {
    test::TempDir cache;
    Runtime rt(test::test_config(cache.str()));
    Device& dev = rt.device();
    Stream stream(dev);
    const char* shapes[] = {"1,8,8,512,512,64", "1,3,3,77,77,64",   "2,8,2,1,1013,128", "1,32,8,1000,1000,128",
                            "3,5,5,129,257,64", "1,4,4,1013,77,128", "2,16,16,1,4096,128", "1,2,1,333,999,64",
                            "1,1,1,17,5,128",   "4,6,3,63,65,64",   "1,2,2,300,300,256", "2,8,2,1013,4097,128",
                            "1,4,1,4097,1013,80", "2,8,8,700,700,96",  "1,16,16,129,129,192",
                            // serving: decode under GQA/MQA (PackGQA), padded head dims
                            "2,32,8,1,4097,128", "1,8,1,16,2049,128", "2,8,2,3,1029,96", "2,4,4,129,257,80",
                            "1,4,2,77,333,160", "1,2,2,300,300,192", "1,3,3,65,65,32",  "1,2,1,33,100,8"};
    int n = 0;
    for (const char* shape : shapes) {
        for (bool causal : {false, true}) {
            AttentionProblem p = AttentionProblem::from_shape(shape);
            p.causal = causal;
            p.dtype = (n++ % 2) ? DType::bf16 : DType::f16;
            INFO(p.to_string() << " -> " << resolve(rt, p).variant);
            CHECK(resolve(rt, p).source != "fallback");  // every D multiple of 8 up to 256 runs a fast family
            AttentionInputs in = make_random_inputs(p, fresh_seed());
            DeviceBuffer q(dev, in.q_bytes.size()), k(dev, in.k_bytes.size()), v(dev, in.v_bytes.size()),
                o(dev, in.q_bytes.size());
            q.upload(in.q_bytes.data(), in.q_bytes.size());
            k.upload(in.k_bytes.data(), in.k_bytes.size());
            v.upload(in.v_bytes.data(), in.v_bytes.size());
            for (int rep = 0; rep < 2; ++rep) {  // the second call takes the warm path
                o.fill_u16(p.dtype == DType::f16 ? 0x7e00 : 0x7fc0);  // NaN
                attention(rt, p, {q.get(), k.get(), v.get(), o.get()}, stream.get());
                stream.synchronize();
                std::vector<unsigned char> bytes(o.bytes());
                o.download(bytes.data(), bytes.size());
                ErrorStats e = compare(decode(bytes, p.dtype), cpu_reference_attention(p, in));
                INFO("max abs error " << e.max_abs << ", non-finite " << e.non_finite);
                CHECK(e.within(tolerance_for(p.dtype)));
            }
        }
    }
}
