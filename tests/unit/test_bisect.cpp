// Bisect and compare search logic against fake probe runners (no GPU, no child processes):
// the verdict of each probe is a function of the variant's fields.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>

#include "flashcore/attention.hpp"
#include "flashcore/problem_names.hpp"
#include "flashcore/tools/bisect.hpp"
#include "flashcore/error.hpp"
#include "flashcore/template_registry.hpp"
#include "flashcore/variant.hpp"
#include "probe_fakes.hpp"
#include "test_support.hpp"

using namespace flashcore;
using test::base_request;
using test::kSeed;
using test::verdict;

namespace {

const TemplateRegistry& toy_registry() {
    static TemplateRegistry r({test::test_template_dir()});
    return r;
}

// The embedded templates: attention_wmma has the `stage` param.
const TemplateRegistry& embedded_registry() {
    static TemplateRegistry r;
    return r;
}

std::string field(const Variant& v, const std::string& name) { return to_string(v.value(name)); }

// A ProbeRunner whose verdict is a function of the variant. It parses what it is asked to run,
// so an invalid combination reaching it fails the test.
class FakeRunner : public ProbeRunner {
public:
    FakeRunner(const TemplateRegistry& registry, std::function<ProbeResult(const Variant&)> judge)
        : registry_(registry), judge_(std::move(judge)) {}

    ProbeResult run(const ProbeRequest& request) override {
        requests.push_back(request);
        Variant v = parse_variant(request.variant, registry_);  // throws for an invalid variant
        ProbeResult r = judge_(v);
        r.variant = v.to_string();
        return r;
    }

    std::vector<ProbeRequest> requests;

private:
    const TemplateRegistry& registry_;
    std::function<ProbeResult(const Variant&)> judge_;
};

Variant toy(const std::string& text) { return parse_variant(text, toy_registry()); }

AttentionProblem mission() { return AttentionProblem::from_shape("1,8,512,64"); }

Variant wmma(const std::string& text) {
    return parse_variant(text, embedded_registry(), problem_names(mission()));
}

std::vector<std::string> culprit_fields(const BisectReport& r, size_t i = 0) {
    REQUIRE(r.culprits.size() > i);
    return r.culprits[i].fields;
}

using Fields = std::vector<std::string>;

}  // namespace

TEST_CASE("bisect names a single-field culprit for every failing verdict", "[bisect]") {
    auto kind = GENERATE(Verdict::compile_error, Verdict::resource_error, Verdict::launch_fault, Verdict::mismatch,
                         Verdict::timeout);
    INFO(to_string(kind));
    // Four fields differ; only smem_kb=300 fails, with verdict `kind`.
    Variant good = toy("toy_attention:threads=128,smem_kb=0,mode=plain");
    Variant bad = toy("toy_attention:threads=256,smem_kb=300,mode=fancy,fault=oob");
    FakeRunner runner(toy_registry(), [&](const Variant& v) {
        return field(v, "smem_kb") == "300" ? verdict(kind, 0.5, "planted") : verdict(Verdict::ok, 1e-4);
    });
    std::vector<size_t> seen;
    std::size_t started = 0;
    BisectOptions options;
    options.on_probe_start = [&](const BisectStep&) { ++started; };
    BisectReport r = bisect(good, bad, toy_registry(), runner, base_request(), options,
                            [&](const BisectStep& s) { seen.push_back(s.index); });
    CHECK(r.status == BisectStatus::found);
    CHECK(r.ok());
    REQUIRE(r.culprits.size() == 1);
    const Culprit& c = r.culprits[0];
    CHECK(c.fields == Fields{"smem_kb"});
    CHECK(c.changes == Fields{"smem_kb: 0 -> 300"});
    CHECK(c.result.verdict == kind);
    CHECK(c.result.message == "planted");
    CHECK(c.variant == "toy_attention:threads=128,smem_kb=300,mode=plain");
    CHECK(c.smallest);
    CHECK(c.minimal);
    CHECK_FALSE(c.stage.attempted);  // toy_attention has no `stage` param
    CHECK(r.steps[c.step].variant == c.variant);
    // good + bad + one probe per single field.
    CHECK(r.probes == 6);
    CHECK(runner.requests.size() == 6);
    CHECK(started == 6);
    CHECK(seen.size() == r.steps.size());
    CHECK(r.steps[0].phase == BisectPhase::confirm_good);
    CHECK(r.steps[1].phase == BisectPhase::confirm_bad);
    CHECK(r.differences == Fields{"threads: 128 -> 256", "smem_kb: 0 -> 300", "mode: plain -> fancy", "fault: none -> oob"});
    CHECK_THAT(r.summary, Catch::Contains("smem_kb: 0 -> 300") && Catch::Contains(to_string(kind)) &&
                              Catch::Contains("probes: 6 run"));
}

TEST_CASE("bisect passes the base request to every probe, replacing only the variant", "[bisect]") {
    FakeRunner runner(toy_registry(), [](const Variant& v) {
        return field(v, "fault") == "oob" ? verdict(Verdict::launch_fault) : verdict(Verdict::ok);
    });
    BisectReport r = bisect(toy("toy_attention"), toy("toy_attention:fault=oob"), toy_registry(), runner, base_request());
    CHECK(r.status == BisectStatus::found);
    CHECK(culprit_fields(r) == Fields{"fault"});
    // One difference: its single change is the bad variant itself, so no third probe.
    CHECK(r.probes == 2);
    for (const auto& q : runner.requests) {
        CHECK(q.seed == 1234);
        CHECK(q.compile.allowed_warnings == Fields{"local-wmma"});
        CHECK(q.env.at("FLASHCORE_CACHE_DIR") == "/tmp/x");
        CHECK(q.timeout == std::chrono::seconds(7));
        CHECK(q.problem.Sq == 16);
    }
    CHECK(runner.requests[0].variant == "toy_attention:threads=128,smem_kb=0,mode=plain");
    CHECK(runner.requests[1].variant == "toy_attention:threads=128,smem_kb=0,mode=plain,fault=oob");
}

TEST_CASE("bisect reports every tied single-field culprit in schema order", "[bisect]") {
    // Both smem_kb=300 and fault=oob fail on their own (bad spells them in the other order).
    FakeRunner runner(toy_registry(), [](const Variant& v) {
        if (field(v, "fault") == "oob") return verdict(Verdict::launch_fault, -1, "oob");
        if (field(v, "smem_kb") == "300") return verdict(Verdict::resource_error, -1, "smem");
        return verdict(Verdict::ok);
    });
    BisectReport r = bisect(toy("toy_attention"), toy("toy_attention:fault=oob,smem_kb=300,threads=256"), toy_registry(),
                            runner, base_request());
    CHECK(r.status == BisectStatus::found);
    REQUIRE(r.culprits.size() == 2);
    CHECK(r.culprits[0].fields == Fields{"smem_kb"});
    CHECK(r.culprits[0].result.verdict == Verdict::resource_error);
    CHECK(r.culprits[1].fields == Fields{"fault"});
    CHECK(r.culprits[1].result.verdict == Verdict::launch_fault);
    CHECK(r.probes == 5);  // good, bad, threads, smem_kb, fault
    CHECK_THAT(r.summary, Catch::Contains("2 culprits"));
}

TEST_CASE("bisect goes to pairs only when every single field passes", "[bisect]") {
    // Fails only when threads=256 and mode=fancy together.
    FakeRunner runner(toy_registry(), [](const Variant& v) {
        return field(v, "threads") == "256" && field(v, "mode") == "fancy" ? verdict(Verdict::mismatch, 0.25)
                                                                             : verdict(Verdict::ok, 1e-4);
    });
    Variant good = toy("toy_attention:threads=128,smem_kb=0,mode=plain");
    Variant bad = toy("toy_attention:threads=256,smem_kb=40,mode=fancy");
    BisectReport r = bisect(good, bad, toy_registry(), runner, base_request());
    CHECK(r.status == BisectStatus::found);
    REQUIRE(r.culprits.size() == 1);
    CHECK(r.culprits[0].fields == Fields{"threads", "mode"});
    CHECK(r.culprits[0].changes == Fields{"threads: 128 -> 256", "mode: plain -> fancy"});
    CHECK(r.culprits[0].result.verdict == Verdict::mismatch);
    CHECK(r.culprits[0].smallest);
    // good, bad, 3 singles, 3 pairs.
    CHECK(r.probes == 8);
    size_t singles = 0, pairs = 0;
    for (const auto& s : r.steps)
        if (s.phase == BisectPhase::search) (s.fields.size() == 1 ? singles : pairs)++;
    CHECK(singles == 3);
    CHECK(pairs == 3);
}

TEST_CASE("bisect skips invalid intermediate combinations without probing them", "[bisect]") {
    // mode=fancy needs threads >= 128: from threads=64 the single change mode=fancy is invalid.
    FakeRunner runner(toy_registry(), [](const Variant& v) {
        return field(v, "mode") == "fancy" ? verdict(Verdict::compile_error, -1, "fancy breaks") : verdict(Verdict::ok);
    });
    Variant good = toy("toy_attention:threads=64,mode=plain");
    Variant bad = toy("toy_attention:threads=256,mode=fancy");
    std::vector<BisectStep> steps;
    BisectReport r = bisect(good, bad, toy_registry(), runner, base_request(), {},
                            [&](const BisectStep& s) { steps.push_back(s); });
    CHECK(r.status == BisectStatus::found);
    REQUIRE(r.culprits.size() == 1);
    // The smallest valid failing change is both fields (the bad variant itself).
    CHECK(r.culprits[0].fields == Fields{"threads", "mode"});
    CHECK(r.culprits[0].result.verdict == Verdict::compile_error);
    CHECK(r.culprits[0].smallest);
    CHECK(r.skipped_invalid == 1);
    CHECK(r.probes == 3);  // good, bad, threads alone
    for (const auto& q : runner.requests) CHECK(q.variant.find("threads=64,smem_kb=0,mode=fancy") == std::string::npos);
    bool saw_invalid = false;
    for (const auto& s : steps)
        if (s.result.verdict == Verdict::invalid) {
            saw_invalid = true;
            CHECK_FALSE(s.probed);
            CHECK(s.fields == Fields{"mode"});
            CHECK_THAT(s.result.message, Catch::Contains("mode=fancy needs threads >= 128"));
            CHECK(s.variant == "toy_attention:threads=64,smem_kb=0,mode=fancy");
        }
    CHECK(saw_invalid);
    CHECK_THAT(r.summary, Catch::Contains("1 invalid combination(s) skipped"));
}

TEST_CASE("bisect reduces larger changes by delta debugging past the exhaustive levels", "[bisect]") {
    // Fails only with threads=256, smem_kb=300 and mode=fancy together; fault is irrelevant.
    auto judge = [](const Variant& v) {
        return field(v, "threads") == "256" && field(v, "smem_kb") == "300" && field(v, "mode") == "fancy"
                   ? verdict(Verdict::resource_error)
                   : verdict(Verdict::ok);
    };
    Variant good = toy("toy_attention:threads=64,smem_kb=0,mode=plain");
    Variant bad = toy("toy_attention:threads=256,smem_kb=300,mode=fancy,fault=oob");

    SECTION("pairs exhaustive, then ddmin: 1-minimal") {
        FakeRunner runner(toy_registry(), judge);
        BisectReport r = bisect(good, bad, toy_registry(), runner, base_request());
        CHECK(r.status == BisectStatus::found);
        REQUIRE(r.culprits.size() == 1);
        CHECK(r.culprits[0].fields == Fields{"threads", "smem_kb", "mode"});
        CHECK(r.culprits[0].result.verdict == Verdict::resource_error);
        CHECK(r.culprits[0].minimal);
        CHECK_FALSE(r.culprits[0].smallest);
        bool reduced = false;
        for (const auto& s : r.steps) reduced |= s.phase == BisectPhase::reduce;
        CHECK(reduced);
        CHECK(runner.requests.size() == r.probes);
        CHECK_THAT(r.summary, Catch::Contains("delta debugging"));
    }
    SECTION("triples exhaustive: smallest") {
        FakeRunner runner(toy_registry(), judge);
        BisectOptions options;
        options.max_exhaustive_size = 3;
        BisectReport r = bisect(good, bad, toy_registry(), runner, base_request(), options);
        CHECK(r.status == BisectStatus::found);
        REQUIRE(r.culprits.size() == 1);
        CHECK(r.culprits[0].fields == Fields{"threads", "smem_kb", "mode"});
        CHECK(r.culprits[0].smallest);
    }
    SECTION("a probe budget is never exceeded") {
        for (std::size_t budget : {2u, 3u, 5u, 8u, 12u}) {
            INFO("max_probes " << budget);
            FakeRunner runner(toy_registry(), judge);
            BisectOptions options;
            options.max_probes = budget;
            BisectReport r = bisect(good, bad, toy_registry(), runner, base_request(), options);
            CHECK(runner.requests.size() <= budget);
            CHECK(r.probes == runner.requests.size());
            CHECK(r.max_probes == budget);
            REQUIRE(r.culprits.size() == 1);
            if (r.status == BisectStatus::budget_exhausted) {
                CHECK_FALSE(r.culprits[0].minimal);
                CHECK_THAT(r.summary, Catch::Contains("ran out"));
            }
            // Whatever is reported fails, and contains the real cause.
            CHECK(r.culprits[0].result.verdict == Verdict::resource_error);
            std::set<std::string> f(r.culprits[0].fields.begin(), r.culprits[0].fields.end());
            CHECK(f.count("threads"));
            CHECK(f.count("smem_kb"));
            CHECK(f.count("mode"));
        }
        FakeRunner runner(toy_registry(), judge);
        BisectOptions options;
        options.max_probes = 2;
        BisectReport r = bisect(good, bad, toy_registry(), runner, base_request(), options);
        CHECK(r.status == BisectStatus::budget_exhausted);
        CHECK_FALSE(r.ok());
        CHECK(r.culprits[0].fields.size() == 4);  // nothing reduced: the whole difference
    }
    SECTION("fewer than two probes is refused") {
        FakeRunner runner(toy_registry(), judge);
        BisectOptions options;
        options.max_probes = 1;
        CHECK_THROWS_AS(bisect(good, bad, toy_registry(), runner, base_request(), options), Error);
        CHECK(runner.requests.empty());
    }
}

TEST_CASE("bisect says so when the good variant is not ok or the bad one is", "[bisect]") {
    Variant good = toy("toy_attention");
    Variant bad = toy("toy_attention:smem_kb=300");
    SECTION("good is not ok") {
        FakeRunner runner(toy_registry(), [](const Variant&) { return verdict(Verdict::launch_fault, -1, "boom"); });
        BisectReport r = bisect(good, bad, toy_registry(), runner, base_request());
        CHECK(r.status == BisectStatus::good_not_ok);
        CHECK_FALSE(r.ok());
        CHECK(r.culprits.empty());
        CHECK(r.probes == 2);
        CHECK_THAT(r.summary, Catch::Contains("GOOD variant is not ok") && Catch::Contains("launch_fault: boom"));
    }
    SECTION("bad is ok") {
        FakeRunner runner(toy_registry(), [](const Variant&) { return verdict(Verdict::ok); });
        BisectReport r = bisect(good, bad, toy_registry(), runner, base_request());
        CHECK(r.status == BisectStatus::bad_is_ok);
        CHECK(r.culprits.empty());
        CHECK(r.probes == 2);
        CHECK_THAT(r.summary, Catch::Contains("BAD variant passes"));
    }
    SECTION("bad is invalid in the child") {
        FakeRunner runner(toy_registry(), [](const Variant& v) {
            return field(v, "smem_kb") == "300" ? verdict(Verdict::invalid) : verdict(Verdict::ok);
        });
        BisectReport r = bisect(good, bad, toy_registry(), runner, base_request());
        CHECK(r.status == BisectStatus::bad_is_invalid);
        CHECK(r.culprits.empty());
    }
}

TEST_CASE("bisect of identical variants probes nothing; different templates are refused", "[bisect]") {
    FakeRunner runner(toy_registry(), [](const Variant&) { return verdict(Verdict::ok); });
    BisectReport r =
        bisect(toy("toy_attention:mode=plain"), toy("toy_attention"), toy_registry(), runner, base_request());
    CHECK(r.status == BisectStatus::identical);
    CHECK(r.probes == 0);
    CHECK(r.steps.empty());
    CHECK(runner.requests.empty());
    CHECK_THAT(r.summary, Catch::Contains("same variant"));

    Variant other = parse_variant("local_wmma", toy_registry());
    try {
        bisect(toy("toy_attention"), other, toy_registry(), runner, base_request());
        FAIL("expected an error");
    } catch (const Error& e) {
        CHECK(e.is_usage_error());
        CHECK_THAT(e.info().message, Catch::Contains("toy_attention") && Catch::Contains("local_wmma"));
    }
    CHECK(runner.requests.empty());
}

TEST_CASE("bisect localises a mismatch with the stage param", "[bisect][stage]") {
    Variant good = wmma(kSeed);
    Variant bad = wmma(std::string(kSeed) + ",fault=local_wmma");
    REQUIRE(good.schema().find_param("stage"));

    struct Case {
        const char* wrong_at;  // first stage whose output is wrong
        const char* expect;
        size_t localise_probes;
    };
    auto c = GENERATE(Case{"qk", "QKᵀ", 1}, Case{"softmax", "softmax", 2},
                      Case{"pv", "P·V (or the final normalisation)", 2});
    INFO(c.wrong_at);
    FakeRunner runner(embedded_registry(), [&](const Variant& v) {
        if (field(v, "fault") == "none") return verdict(Verdict::ok, 1e-4);
        std::string stage = field(v, "stage");
        std::string w = c.wrong_at;
        bool wrong = stage == "full" || (stage == "qk" && w == "qk") || (stage == "softmax" && w != "pv");
        return wrong ? verdict(Verdict::mismatch, 0.5) : verdict(Verdict::ok, 1e-6);
    });
    BisectReport r = bisect(good, bad, embedded_registry(), runner, base_request());
    CHECK(r.status == BisectStatus::found);
    REQUIRE(r.culprits.size() == 1);
    const Culprit& k = r.culprits[0];
    CHECK(k.fields == Fields{"fault"});
    CHECK(k.result.verdict == Verdict::mismatch);
    REQUIRE(k.stage.attempted);
    CHECK(k.stage.first_wrong == c.expect);
    CHECK(k.stage.steps.size() == c.localise_probes);
    CHECK(r.probes == 2 + c.localise_probes);
    const BisectStep& first = r.steps.at(k.stage.steps.at(0));
    CHECK(first.phase == BisectPhase::localise);
    CHECK(first.variant.find("stage=qk") != std::string::npos);
    CHECK(first.variant.find("fault=local_wmma") != std::string::npos);
    if (c.localise_probes == 2) CHECK(r.steps.at(k.stage.steps.at(1)).variant.find("stage=softmax") != std::string::npos);
    CHECK_THAT(r.summary, Catch::Contains(std::string("first wrong: ") + c.expect));
}

TEST_CASE("stage localisation: inconclusive probes, other verdicts, budget and opt-out", "[bisect][stage]") {
    Variant good = wmma(kSeed);
    Variant bad = wmma(std::string(kSeed) + ",fault=local_wmma");
    SECTION("a faulting debug stage is inconclusive") {
        FakeRunner runner(embedded_registry(), [](const Variant& v) {
            if (field(v, "fault") == "none") return verdict(Verdict::ok);
            return field(v, "stage") == "qk" ? verdict(Verdict::launch_fault) : verdict(Verdict::mismatch, 1.0);
        });
        BisectReport r = bisect(good, bad, embedded_registry(), runner, base_request());
        REQUIRE(r.culprits.size() == 1);
        CHECK(r.culprits[0].stage.attempted);
        CHECK(r.culprits[0].stage.first_wrong.empty());
        CHECK_THAT(r.culprits[0].stage.detail, Catch::Contains("stage=qk: launch_fault") && Catch::Contains("inconclusive"));
        CHECK(r.probes == 3);
    }
    SECTION("only mismatches are localised") {
        FakeRunner runner(embedded_registry(), [](const Variant& v) {
            return field(v, "fault") == "none" ? verdict(Verdict::ok) : verdict(Verdict::launch_fault);
        });
        BisectReport r = bisect(good, bad, embedded_registry(), runner, base_request());
        REQUIRE(r.culprits.size() == 1);
        CHECK(r.culprits[0].result.verdict == Verdict::launch_fault);
        CHECK_FALSE(r.culprits[0].stage.attempted);
        CHECK(r.probes == 2);
    }
    auto mismatch_at_full = [](const Variant& v) {
        if (field(v, "fault") == "none") return verdict(Verdict::ok);
        return field(v, "stage") == "full" ? verdict(Verdict::mismatch, 1.0) : verdict(Verdict::ok);
    };
    SECTION("--no-localise") {
        FakeRunner runner(embedded_registry(), mismatch_at_full);
        BisectOptions options;
        options.localise_stage = false;
        BisectReport r = bisect(good, bad, embedded_registry(), runner, base_request(), options);
        CHECK_FALSE(r.culprits.at(0).stage.attempted);
        CHECK(r.probes == 2);
    }
    SECTION("a spent budget is said, not exceeded") {
        FakeRunner runner(embedded_registry(), mismatch_at_full);
        BisectOptions options;
        options.max_probes = 3;
        BisectReport r = bisect(good, bad, embedded_registry(), runner, base_request(), options);
        CHECK(runner.requests.size() == 3);
        CHECK(r.culprits.at(0).stage.first_wrong.empty());
        CHECK_THAT(r.culprits.at(0).stage.detail, Catch::Contains("probe budget spent before stage=softmax"));
    }
    SECTION("two probes are kept for localisation while searching") {
        // Two differing fields (copy + fault): singles need 2 probes; budget 4 leaves none for
        // the singles after reserving 2, so the whole difference is reported unreduced, but the
        // stage is still localised.
        Variant bad2 = wmma("attention_wmma:block_m=32,block_n=32,warps=4,copy=pipeline,p_dtype=f16,fault=local_wmma");
        FakeRunner runner(embedded_registry(), mismatch_at_full);
        BisectOptions options;
        options.max_probes = 4;
        BisectReport r = bisect(good, bad2, embedded_registry(), runner, base_request(), options);
        CHECK(runner.requests.size() == 4);
        CHECK(r.status == BisectStatus::budget_exhausted);
        REQUIRE(r.culprits.size() == 1);
        CHECK(r.culprits[0].stage.first_wrong == "P·V (or the final normalisation)");
    }
}

TEST_CASE("with_fields_of keeps bound fields and refuses invalid combinations", "[bisect]") {
    Variant from = toy("toy_attention:threads=64");
    Variant to = toy("toy_attention:threads=256,mode=fancy,fault=oob");
    CHECK(with_fields_of(from, to, {"fault"}).to_string() == "toy_attention:threads=64,smem_kb=0,mode=plain,fault=oob");
    CHECK(with_fields_of(from, to, {"mode", "threads"}).to_string() == "toy_attention:threads=256,smem_kb=0,mode=fancy");
    CHECK_THROWS_AS(with_fields_of(from, to, {"mode"}), Error);
    Variant w = wmma(kSeed);
    CHECK(field(w, "head_dim") == "64");
    CHECK(with_fields_of(w, wmma(std::string(kSeed) + ",stage=qk"), {"stage"}).to_string() ==
          "attention_wmma:block_m=32,block_n=32,warps=4,copy=sync,stages=1,p_dtype=f16,dtype=f16,head_dim=64,causal=0,"
          "stage=qk");
}

TEST_CASE("bisect reports serialise to JSON", "[bisect]") {
    FakeRunner runner(toy_registry(), [](const Variant& v) {
        return field(v, "mode") == "fancy" ? verdict(Verdict::compile_error, -1, "x") : verdict(Verdict::ok, 1e-4);
    });
    BisectReport r = bisect(toy("toy_attention:threads=64"), toy("toy_attention:threads=256,mode=fancy"), toy_registry(),
                            runner, base_request());
    auto doc = nlohmann::json::parse(to_json(r));
    CHECK(doc["status"] == "found");
    CHECK(doc["probes"] == r.probes);
    CHECK(doc["steps"].size() == r.steps.size());
    CHECK(doc["culprits"][0]["verdict"] == "compile_error");
    CHECK(doc["culprits"][0]["fields"] == nlohmann::json({"threads", "mode"}));
    for (const auto& s : r.steps) {
        auto line = nlohmann::json::parse(to_json(s));
        CHECK(line["variant"] == s.variant);
        CHECK(line["verdict"] == to_string(s.result.verdict));
        CHECK(line["phase"] == to_string(s.phase));
    }
}
