// Compare against fake probe runners that write dumps (no GPU, no child processes), and the
// repro scripts bisect leaves behind.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>

#include "flashcore/error.hpp"
#include "flashcore/tools/compare.hpp"
#include "flashcore/tools/repro.hpp"
#include "probe_fakes.hpp"
#include "test_support.hpp"
#include "tools/json_codec.hpp"

using namespace flashcore;
using test::base_request;
using test::kSeed;
using test::verdict;

namespace {

// Writes a dump of `values` (or nothing) for each probe, as `flashcore probe --dump` would.
class DumpingRunner : public ProbeRunner {
public:
    std::function<ProbeResult(const ProbeRequest&, std::vector<float>&)> judge;
    std::vector<ProbeRequest> requests;
    ProbeResult run(const ProbeRequest& request) override {
        requests.push_back(request);
        std::vector<float> out;
        ProbeResult r = judge(request, out);
        if (!out.empty() && !request.dump_path.empty()) {
            std::ofstream f(request.dump_path, std::ios::binary);
            f.write(reinterpret_cast<const char*>(out.data()), std::streamsize(out.size() * sizeof(float)));
        }
        return r;
    }
};

}  // namespace

TEST_CASE("compare runs both sides on one seed and diffs their dumps", "[compare]") {
    test::TempDir scratch;
    ProbeRequest base = base_request();
    const std::size_t n = base.problem.q_elements();
    DumpingRunner runner;
    runner.judge = [&](const ProbeRequest& q, std::vector<float>& out) {
        out.assign(n, 1.0f);
        if (q.variant.rfind("attention_wmma", 0) == 0) {
            out[5] = 1.003f;
            out[6] = 0.999f;
        }
        return verdict(Verdict::ok, 1e-3);
    };
    CompareReport r = compare_variants(kSeed, "reference", runner, base, scratch.str());
    CHECK(r.ok());
    REQUIRE(runner.requests.size() == 2);
    CHECK(runner.requests[0].variant == kSeed);
    CHECK(runner.requests[1].variant == "reference_attention");
    for (const auto& q : runner.requests) {
        CHECK(q.seed == 1234);
        CHECK(q.verify);
        CHECK_FALSE(q.dump_path.empty());
    }
    CHECK(runner.requests[0].dump_path != runner.requests[1].dump_path);
    REQUIRE(r.difference_known);
    CHECK(r.difference.compared == n);
    CHECK(r.difference.max_abs == Approx(0.003).margin(1e-6));
    CHECK(r.difference.worst_index == 5);
    CHECK(r.difference.non_finite == 0);
    CHECK(r.seed == 1234);
}

TEST_CASE("compare reports a faulting side with its verdict and no difference", "[compare]") {
    test::TempDir scratch;
    ProbeRequest base = base_request();
    DumpingRunner runner;
    runner.judge = [&](const ProbeRequest& q, std::vector<float>& out) {
        if (q.variant.find("fault=oob") != std::string::npos) return verdict(Verdict::launch_fault, -1, "illegal address");
        out.assign(base.problem.q_elements(), 0.5f);
        return verdict(Verdict::ok);
    };
    CompareReport r = compare_variants("attention_wmma:fault=oob", "reference", runner, base, scratch.str());
    CHECK_FALSE(r.ok());
    CHECK(r.a.result.verdict == Verdict::launch_fault);
    CHECK(r.b.result.verdict == Verdict::ok);
    CHECK_FALSE(r.difference_known);
    CHECK_THAT(r.note, Catch::Contains("A did not produce an output (launch_fault)"));
    CHECK(runner.requests.size() == 2);  // the other side still runs

    // A mismatching side still has an output: the difference is computed, but it is not ok.
    runner.judge = [&](const ProbeRequest& q, std::vector<float>& out) {
        out.assign(base.problem.q_elements(), q.variant == "reference_attention" ? 0.5f : 0.75f);
        return q.variant == "reference_attention" ? verdict(Verdict::ok) : verdict(Verdict::mismatch, 0.25);
    };
    r = compare_variants("attention_wmma", "reference", runner, base, scratch.str());
    CHECK_FALSE(r.ok());
    CHECK(r.difference_known);
    CHECK(r.difference.max_abs == Approx(0.25));

    // A wrong-sized dump is noticed; a fixed seed is required.
    runner.judge = [&](const ProbeRequest&, std::vector<float>& out) {
        out.assign(7, 0.f);
        return verdict(Verdict::ok);
    };
    r = compare_variants("attention_wmma", "reference", runner, base, scratch.str());
    CHECK_FALSE(r.difference_known);
    CHECK_THAT(r.note, Catch::Contains("output sizes differ"));
    base.seed = 0;
    CHECK_THROWS_AS(compare_variants("a", "b", runner, base, scratch.str()), Error);
}

TEST_CASE("read_float32_file reads dumps and refuses odd sizes", "[compare]") {
    test::TempDir dir;
    std::vector<float> values = {1.5f, -2.f, 0.25f};
    std::string path = dir.str() + "/x.f32";
    {
        std::ofstream f(path, std::ios::binary);
        f.write(reinterpret_cast<const char*>(values.data()), 12);
    }
    CHECK(read_float32_file(path) == values);
    {
        std::ofstream f(path, std::ios::binary | std::ios::app);
        f.write("x", 1);
    }
    CHECK_THROWS_AS(read_float32_file(path), Error);
    CHECK_THROWS_AS(read_float32_file(dir.str() + "/missing.f32"), Error);
}

TEST_CASE("repro scripts quote every word and rerun the probe", "[bisect][repro]") {
    CHECK(shell_quote("plain-word_1.2:x=y,z") == "plain-word_1.2:x=y,z");
    CHECK(shell_quote("") == "''");
    CHECK(shell_quote("a b") == "'a b'");
    CHECK(shell_quote("it's") == "'it'\\''s'");
    CHECK(shell_quote("$HOME") == "'$HOME'");

    test::TempDir dir;
    ProbeRequest r = base_request();
    r.variant = "toy_attention:threads=64";
    r.compile.add_flag("-DNAME='a b'");
    r.env["FLASHCORE_TEMPLATE_DIR"] = "/path with space";
    // A stand-in for flashcore: prints its arguments, then the document it reads on stdin.
    const std::string fake = dir.str() + "/fake flashcore";
    {
        std::ofstream f(fake);
        f << "#!/bin/sh\necho \"$@\"\ncat\n";
    }
    std::filesystem::permissions(fake, std::filesystem::perms::owner_all);
    std::string script = repro_script(fake, r, "line one\nline two");
    CHECK_THAT(script, Catch::StartsWith("#!/bin/sh\n# line one\n# line two\n"));
    CHECK_THAT(script, Catch::Contains("export FLASHCORE_TEMPLATE_DIR='/path with space'"));
    std::string path = dir.str() + "/repro.sh";
    {
        std::ofstream f(path);
        f << script;
    }
    std::string cmd = "sh " + path + " --extra 2>&1";
    FILE* pipe = ::popen(cmd.c_str(), "r");
    REQUIRE(pipe);
    std::string out;
    char buf[512];
    while (std::fgets(buf, sizeof buf, pipe)) out += buf;
    CHECK(::pclose(pipe) == 0);
    // The arguments, then the request: one document that reads back as the same request.
    REQUIRE_THAT(out, Catch::StartsWith("probe --request-json - --extra\n"));
    auto doc = nlohmann::json::parse(out.substr(out.find('\n') + 1));
    ProbeRequest back = doc.get<ProbeRequest>();
    CHECK(back.variant == r.variant);
    CHECK(back.seed == r.seed);
    CHECK(back.problem == r.problem);
    CHECK(back.compile.defines == std::vector<std::string>{"NAME='a b'"});
    CHECK(back.compile.allowed_warnings == r.compile.allowed_warnings);
}
