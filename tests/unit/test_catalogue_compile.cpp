// Every correctness-catalogue variant compiles for sm_89 (L4) and sm_90 (H100) with no spills
// and no stack (attention_mma, the sm_80+ family, for sm_80 (A100) too), and its shared memory
// is checked against each device's opt-in limit.
#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <mutex>
#include <set>

#include "flashcore/error.hpp"
#include "flashcore/problem_names.hpp"
#include "flashcore/launch.hpp"
#include "flashcore/render.hpp"
#include "flashcore/runtime.hpp"
#include "flashcore/tools/parallel.hpp"
#include "test_support.hpp"

using namespace flashcore;

namespace {

std::vector<std::string> catalogue(const std::string& id) {
    std::ifstream in(std::string(FLASHCORE_CATALOGUE_DIR) + "/" + id + ".txt");
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) {
        size_t b = line.find_first_not_of(" \t");
        if (b != std::string::npos && line[b] != '#') out.push_back(line.substr(b, line.find_last_not_of(" \t\r") - b + 1));
    }
    return out;
}

void compile_catalogue(const std::string& id, std::vector<const char*> archs = {"sm_89", "sm_90"}) {
    test::TempDir dir;
    Runtime rt(test::test_config(dir.str()));
    std::vector<std::pair<Variant, Target>> jobs;
    for (const auto& text : catalogue(id))
        for (const char* arch : archs) jobs.emplace_back(rt.variant(text), Target::parse(arch));
    REQUIRE(jobs.size() >= 20);
    std::mutex mutex;
    std::vector<std::string> failures;
    parallel_for(jobs.size(), [&](size_t i) {
        const auto& [v, target] = jobs[i];
        std::string problem;
        try {
            const Compiled& c = rt.build(v, target).entry->compiled;
            const ResourceUsage& r = c.resources;
            if (!c.warnings.empty()) problem = "warning: " + c.warnings.front();
            else if (!r.parsed || r.spill_store_bytes || r.stack_bytes)
                problem = "registers " + std::to_string(r.registers) + ", spill " + std::to_string(r.spill_store_bytes) +
                          " B, stack " + std::to_string(r.stack_bytes) + " B";
        } catch (const Error& e) {
            problem = e.what();
        }
        if (!problem.empty()) {
            std::lock_guard<std::mutex> lock(mutex);
            failures.push_back(v.to_string() + " [" + target.to_string() + "]: " + problem);
        }
    }, std::max(2u, hardware_threads(~0u)));  // at least two threads, also on a one-core machine
    for (const auto& f : failures) FAIL_CHECK(f);
    CHECK(failures.empty());
}

}  // namespace

TEST_CASE("every attention_wmma catalogue variant compiles for sm_89 and sm_90", "[compile][catalogue]") {
    compile_catalogue("attention_wmma");
}

TEST_CASE("every attention_mma catalogue variant compiles for sm_80, sm_89 and sm_90", "[compile][catalogue]") {
    compile_catalogue("attention_mma", {"sm_80", "sm_89", "sm_90"});
}

TEST_CASE("every attention_wgmma catalogue variant compiles for sm_90a with no spill or warning", "[compile][catalogue]") {
    // sm_90 asks for the arch-specific target: the schema's arch_suffix makes it sm_90a. A C7508
    // (setmaxnreg ignored) or C7513 (wgmma serialized) report fails the build itself.
    compile_catalogue("attention_wgmma", {"sm_90"});
}

TEST_CASE("the wgmma catalogue covers every value of every parameter", "[catalogue]") {
    test::TempDir dir;
    Runtime rt(test::test_config(dir.str()));
    auto schema = rt.templates().schema("attention_wgmma");
    std::map<std::string, std::set<std::string>> seen;
    for (const auto& text : catalogue("attention_wgmma")) {
        Variant v = rt.variant(text);
        for (const auto& p : schema->params) seen[p.name].insert(to_string(v.value(p.name)));
    }
    for (const auto& p : schema->params) {
        if (p.hidden) continue;
        for (const auto& value : p.values) {
            INFO(p.name << "=" << to_string(value));
            CHECK(seen[p.name].count(to_string(value)) == 1);
        }
    }
}

TEST_CASE("variants too big for a device are refused with the arithmetic, not launched", "[compile][catalogue]") {
    test::TempDir dir;
    Runtime rt(test::test_config(dir.str()));
    // 128x64 tiles, D=128, 2 stages: about 203 KB of shared memory; fits an H100, not an L4.
    Variant big = rt.variant("attention_wmma:block_m=128,block_n=64,warps=16,copy=pipeline,stages=2,head_dim=128");
    AttentionProblem p = AttentionProblem::from_shape("1,8,8,512,512,128");
    LaunchDims dims = derive_launch(big, problem_names(p));
    CHECK(dims.dynamic_smem > std::size_t(known_smem_optin(89)));
    CHECK(dims.dynamic_smem <= std::size_t(known_smem_optin(90)));
    std::string why = shared_memory_overflow(0, dims.dynamic_smem, known_smem_optin(89), "NVIDIA L4");
    CHECK_THAT(why, Catch::Contains("> opt-in max 99.0 KB on NVIDIA L4"));
    // The schema's problem check refuses it for such a device before any launch.
    DeviceInfo l4;
    l4.name = "NVIDIA L4";
    l4.sm = 89;
    l4.smem_per_block_optin = known_smem_optin(89);
    NameLookup names = big.names(problem_names(p, &l4));
    bool refused = false;
    for (const auto& check : big.schema().problem_checks) refused |= check.expr.evaluate_int(names) == 0;
    CHECK(refused);
}

TEST_CASE("pdl=1 launches with programmatic serialization, only on sm_90+", "[compile][launch]") {
    test::TempDir dir;
    Runtime rt(test::test_config(dir.str()));
    AttentionProblem p = AttentionProblem::from_shape("1,8,8,512,512,64");
    Variant with = rt.variant("attention_mma:block_m=32,block_n=64,warps=8,kv_warps=4,stages=1,pdl=1", &p);
    Variant without = rt.variant("attention_mma:block_m=32,block_n=64,warps=8,kv_warps=4,stages=1,pdl=0", &p);
    CHECK(derive_launch(with, problem_names(p)).programmatic);
    CHECK_FALSE(derive_launch(without, problem_names(p)).programmatic);
    CHECK_THAT(render_prelude(with), Catch::Contains("#define FC_PDL 1"));
    CHECK_THAT(render(with, rt.templates()).text, Catch::Contains("griddepcontrol.wait"));
    auto refused_on = [&](int sm) {
        DeviceInfo device;
        device.sm = sm;
        device.smem_per_block_optin = known_smem_optin(sm);
        NameLookup names = with.names(problem_names(p, &device));
        for (const auto& check : with.schema().problem_checks)
            if (check.expr.evaluate_int(names) == 0) return true;
        return false;
    };
    CHECK(refused_on(89));
    CHECK_FALSE(refused_on(90));
}
