// compare and bisect on a real GPU: every variant runs in a `flashcore probe` child (the CLI
// built with this tree), so planted faults kill children, never this process.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "flashcore/attention.hpp"
#include "flashcore/problem_names.hpp"
#include "flashcore/tools/bisect.hpp"
#include "flashcore/tools/compare.hpp"
#include "flashcore/tools/repro.hpp"
#include "flashcore/tools/host_numeric.hpp"
#include "flashcore/template_registry.hpp"
#include "test_support.hpp"

using namespace flashcore;
namespace fs = std::filesystem;

namespace {

const char* kSeedVariant = "attention_wmma:block_m=32,block_n=32,warps=4,copy=sync,p_dtype=f16";

AttentionProblem mission() { return AttentionProblem::from_shape("1,8,512,64"); }

ProbeRequest base_request(const test::TempDir& cache) {
    ProbeRequest r;
    r.problem = mission();
    r.seed = 20240611;
    r.env = {{"FLASHCORE_CACHE_DIR", cache.str()}};
    r.timeout = std::chrono::seconds(300);  // a cold cache compiles first
    return r;
}

Variant variant(const std::string& text) {
    static TemplateRegistry registry;
    return parse_variant(text, registry, problem_names(mission()));
}

struct Shell {
    int exit_code = -1;
    std::string output;
};

Shell shell(const std::string& command) {
    Shell s;
    FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
    REQUIRE(pipe);
    char buf[4096];
    while (std::fgets(buf, sizeof buf, pipe)) s.output += buf;
    int status = ::pclose(pipe);
    s.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return s;
}

std::string read_text(const fs::path& path) {
    std::ifstream f(path);
    return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

}  // namespace

TEST_CASE("compare: the seed WMMA variant and the reference agree on the mission shape", "[gpu][compare]") {
    test::TempDir cache, scratch;
    ProcessProbeRunner runner(test::cli_path());
    ProbeRequest base = base_request(cache);
    base.time = true;
    CompareReport r = compare_variants(kSeedVariant, "reference", runner, base, scratch.str());
    INFO(r.a.result.message << "\n" << r.a.result.output << "\n" << r.b.result.message << "\n" << r.b.result.output);
    CHECK(r.a.result.verdict == Verdict::ok);
    CHECK(r.b.result.verdict == Verdict::ok);
    CHECK(r.a.result.variant == variant(kSeedVariant).to_string());
    CHECK(r.b.result.variant.rfind("reference_attention", 0) == 0);
    REQUIRE(r.ok());
    CHECK(r.difference.compared == mission().q_elements());
    CHECK(r.difference.non_finite == 0);
    // Each side is within the f16 bar of the fp64 reference, so they are within twice that.
    CHECK(r.difference.max_abs <= 2 * tolerance_for(DType::f16));
    CHECK(r.a.result.us_graph > 0);
    CHECK(r.b.result.us_graph > 0);

    // The verb: same answer, as JSON, exit 0.
    Shell cli = shell("FLASHCORE_CACHE_DIR=" + shell_quote(cache.str()) + " " + shell_quote(test::cli_path()) +
                      " compare " + kSeedVariant + " reference --shape 1,8,512,64 --seed 7 --json");
    INFO(cli.output);
    CHECK(cli.exit_code == 0);
    auto doc = nlohmann::json::parse(cli.output.substr(cli.output.find('{')));
    CHECK(doc["ok"] == true);
    CHECK(doc["difference"]["max_abs"].get<double>() <= 2 * tolerance_for(DType::f16));
}

TEST_CASE("compare: a faulting side is reported with its verdict, exit 1", "[gpu][compare]") {
    test::TempDir cache;
    Shell cli = shell("FLASHCORE_CACHE_DIR=" + shell_quote(cache.str()) + " " + shell_quote(test::cli_path()) +
                      " compare " + kSeedVariant + ",fault=oob reference --shape 1,8,512,64 --json");
    INFO(cli.output);
    CHECK(cli.exit_code == 1);
    auto doc = nlohmann::json::parse(cli.output.substr(cli.output.find('{')));
    CHECK(doc["a"]["verdict"] == "launch_fault");
    CHECK(doc["b"]["verdict"] == "ok");
    CHECK(doc["difference"].is_null());
}

TEST_CASE("bisect: the planted out-of-bounds store is named as the culprit", "[gpu][bisect]") {
    test::TempDir cache;
    ProcessProbeRunner runner(test::cli_path());
    TemplateRegistry registry;
    Variant good = variant(kSeedVariant);
    Variant bad = variant(std::string(kSeedVariant) + ",fault=oob");
    BisectReport r = bisect(good, bad, registry, runner, base_request(cache));
    INFO(r.summary);
    for (const auto& s : r.steps) INFO(to_json(s));
    REQUIRE(r.status == BisectStatus::found);
    REQUIRE(r.culprits.size() == 1);
    CHECK(r.culprits[0].fields == std::vector<std::string>{"fault"});
    CHECK(r.culprits[0].result.verdict == Verdict::launch_fault);
    CHECK(r.probes == 2);
}

TEST_CASE("bisect: the seed bug (WMMA store to local memory) is named as the culprit", "[gpu][bisect]") {
    test::TempDir cache;
    ProcessProbeRunner runner(test::cli_path());
    TemplateRegistry registry;
    ProbeRequest base = base_request(cache);
    base.compile.allowed_warnings = {"local-wmma"};  // else it is a compile error
    Variant good = variant(kSeedVariant);
    Variant bad = variant(std::string(kSeedVariant) + ",fault=local_wmma");
    BisectReport r = bisect(good, bad, registry, runner, base);
    INFO(r.summary);
    for (const auto& s : r.steps) INFO(to_json(s));
    REQUIRE(r.status == BisectStatus::found);
    REQUIRE(r.culprits.size() == 1);
    CHECK(r.culprits[0].fields == std::vector<std::string>{"fault"});
    CHECK(r.culprits[0].result.verdict != Verdict::ok);
    CHECK(r.culprits[0].result.verdict != Verdict::invalid);
    if (r.culprits[0].result.verdict == Verdict::mismatch) CHECK(r.culprits[0].stage.attempted);

    // Without --allow-warning the same bisect ends in a compile error (the warning is promoted).
    BisectReport refused = bisect(good, bad, registry, runner, base_request(cache));
    REQUIRE(refused.culprits.size() == 1);
    CHECK(refused.culprits[0].result.verdict == Verdict::compile_error);
}

TEST_CASE("bisect verb: writes a repro folder whose repro.sh reruns the culprit", "[gpu][bisect][cli]") {
    test::TempDir cache, out;
    fs::path dir = out.path() / "repro";
    Shell cli = shell("FLASHCORE_CACHE_DIR=" + shell_quote(cache.str()) + " " + shell_quote(test::cli_path()) +
                      " bisect --good " + kSeedVariant + " --bad " + kSeedVariant +
                      ",fault=oob --shape 1,8,512,64 --seed 11 --json --out " + shell_quote(dir.string()));
    INFO(cli.output);
    REQUIRE(cli.exit_code == 0);
    auto doc = nlohmann::json::parse(cli.output.substr(cli.output.find('{')));
    CHECK(doc["status"] == "found");
    CHECK(doc["culprits"][0]["fields"] == nlohmann::json({"fault"}));
    CHECK(doc["culprits"][0]["verdict"] == "launch_fault");
    CHECK(doc["repro_dir"] == dir.string());
    CHECK_FALSE(doc["device"].is_null());
    for (const char* file : {"summary.txt", "verdicts.jsonl", "variants.txt", "compile_options.txt", "environment.json",
                             "culprit.cu", "culprit.log", "repro.sh", "report.json"})
        CHECK(fs::exists(dir / file));
    CHECK_THAT(read_text(dir / "culprit.cu"), Catch::Contains("#define FC_FAULT FC_FAULT_OOB"));
    auto env = nlohmann::json::parse(read_text(dir / "environment.json"));
    CHECK_FALSE(env["device"]["name"].get<std::string>().empty());
    CHECK_FALSE(env["devices"]["nvrtc"].get<std::string>().empty());
    std::string verdicts = read_text(dir / "verdicts.jsonl");
    CHECK(std::count(verdicts.begin(), verdicts.end(), '\n') == 2);

    Shell again = shell("FLASHCORE_CACHE_DIR=" + shell_quote(cache.str()) + " sh " + shell_quote((dir / "repro.sh").string()));
    INFO(again.output);
    CHECK(again.exit_code == 1);
    CHECK_THAT(again.output, Catch::Contains("\"verdict\":\"launch_fault\""));
}
