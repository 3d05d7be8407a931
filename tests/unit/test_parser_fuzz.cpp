// Bounded random-input tests of the parsers user text reaches (`--shape`, `--arch`, `--dtype`,
// variant texts and patterns, `--nvrtc-opt`): each gets mutated and generated inputs for a fixed
// time budget and must either parse into a value that survives a round trip or throw a usage
// flashcore::Error — never another exception (the `internal error: stoi` class of bug), never a
// crash or a hang. FLASHCORE_FUZZ_SECONDS (default 0.75 per parser) and FLASHCORE_FUZZ_SEED set
// the budget and the seed; a failure prints the input and the seed that found it.
#include <catch2/catch.hpp>

#include <chrono>
#include <climits>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "flashcore/attention.hpp"
#include "flashcore/compile.hpp"
#include "flashcore/error.hpp"
#include "flashcore/template_registry.hpp"
#include "flashcore/variant.hpp"
#include "test_support.hpp"

using namespace flashcore;

namespace {

double budget_seconds() {
    const char* text = std::getenv("FLASHCORE_FUZZ_SECONDS");
    return text ? std::atof(text) : 0.75;
}

std::uint64_t fuzz_seed() {
    const char* text = std::getenv("FLASHCORE_FUZZ_SEED");
    return text ? std::strtoull(text, nullptr, 10) : 20261203;
}

// Inputs near the grammar: mutations of valid texts with pieces the parsers split on, numbers
// at and past every integer limit, blanks and bytes that are not ASCII.
class InputMaker {
public:
    InputMaker(std::vector<std::string> seeds, std::vector<std::string> tokens, std::uint64_t seed)
        : seeds_(std::move(seeds)), tokens_(std::move(tokens)), rng_(seed) {
        for (const char* t : {",", "=", ":", "|", "*", " ", "", "-", "+", ".", "e", "0", "1", "00", "2147483647",
                              "2147483648", "4294967296", "9223372036854775808", "99999999999999999999", "1e400",
                              "-1", "0x10", "\t", "\xff", "\xc3\xa9", "\n", ",,", "==", "sm_", "a"})
            tokens_.emplace_back(t);
    }

    std::string next() {
        std::string s = pick(seeds_);
        const int edits = 1 + static_cast<int>(rng_() % 4);
        for (int e = 0; e < edits; ++e) {
            const std::size_t at = s.empty() ? 0 : rng_() % (s.size() + 1);
            switch (rng_() % 5) {
                case 0: s.insert(at, pick(tokens_)); break;                          // insert a token
                case 1: if (at < s.size()) s.erase(at, 1 + rng_() % 3); break;         // delete a few bytes
                case 2: if (at < s.size()) s[at] = static_cast<char>(rng_() % 256); break;  // any byte
                case 3: s += pick(tokens_); break;                                    // append (trailing ",")
                default: s = pick(tokens_) + s; break;                                // prepend
            }
        }
        return s;
    }

private:
    const std::string& pick(const std::vector<std::string>& from) { return from[rng_() % from.size()]; }
    std::vector<std::string> seeds_, tokens_;
    std::mt19937_64 rng_;
};

// Feeds `parse` inputs for the budget. `parse` returns normally (it checks its own round trip)
// or throws; only a usage flashcore::Error may escape it. Returns the number of inputs tried.
std::size_t fuzz(const char* what, InputMaker& inputs, const std::function<void(const std::string&)>& parse) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(budget_seconds());
    std::size_t tried = 0, accepted = 0;
    while (std::chrono::steady_clock::now() < end || tried < 200) {
        const std::string input = inputs.next();
        ++tried;
        INFO(what << " input '" << input << "' (FLASHCORE_FUZZ_SEED=" << fuzz_seed() << ")");
        try {
            parse(input);
            ++accepted;
        } catch (const Error& e) {
            if (!e.is_usage_error()) FAIL(what << " threw a non-usage error for '" << input << "' (seed " << fuzz_seed()
                                               << "): " << e.what());
        } catch (const std::exception& e) {
            FAIL(what << " threw " << e.what() << " (not a flashcore::Error) for '" << input << "' (seed " << fuzz_seed()
                      << ")");
        }
    }
    WARN(what << ": " << tried << " inputs, " << accepted << " accepted");
    CHECK(accepted > 0);           // the seeds still parse: the mutations stay near the grammar
    CHECK(accepted < tried);       // and many do not
    return tried;
}

}  // namespace

TEST_CASE("fuzz: --shape either parses and round-trips or is a usage error", "[fuzz]") {
    InputMaker inputs({"1,8,8,512,512,64", "1,8,512,64", "B=1,Hq=32,Hkv=8,Sq=512,Skv=512,D=128", "B=2,H=4,S=64,D=64",
                       "D=64,S=1,H=1,B=1"},
                      {"B", "Hq", "Hkv", "Sq", "Skv", "D", "H", "S", "B=", "D=1"}, fuzz_seed());
    fuzz("from_shape", inputs, [](const std::string& text) {
        AttentionProblem p = AttentionProblem::from_shape(text);
        for (int v : {p.B, p.Hq, p.Hkv, p.Sq, p.Skv, p.D}) REQUIRE((v >= 0 && v <= INT_MAX));
        const std::string positional = std::to_string(p.B) + "," + std::to_string(p.Hq) + "," + std::to_string(p.Hkv) +
                                       "," + std::to_string(p.Sq) + "," + std::to_string(p.Skv) + "," + std::to_string(p.D);
        REQUIRE(AttentionProblem::from_shape(positional) == p);
        const std::string named = "B=" + std::to_string(p.B) + ",Hq=" + std::to_string(p.Hq) + ",Hkv=" +
                                  std::to_string(p.Hkv) + ",Sq=" + std::to_string(p.Sq) + ",Skv=" + std::to_string(p.Skv) +
                                  ",D=" + std::to_string(p.D);
        REQUIRE(AttentionProblem::from_shape(named) == p);
    });
}

TEST_CASE("fuzz: --arch either parses and round-trips or is a usage error", "[fuzz]") {
    InputMaker inputs({"sm_89", "sm_90a", "compute_80", "9.0", "sm_100a", "120"}, {"sm_", "compute_", "a"}, fuzz_seed());
    fuzz("Target::parse", inputs, [](const std::string& text) {
        Target t = Target::parse(text);
        REQUIRE((t.sm >= 10 && t.sm <= 999));
        REQUIRE(Target::parse(t.to_string()) == t);
    });
}

TEST_CASE("fuzz: --dtype either parses and round-trips or is a usage error", "[fuzz]") {
    InputMaker inputs({"f16", "bf16", "f32", "float16", "bfloat16", "fp16", "half"}, {"f", "bf", "16", "32", "float"},
                      fuzz_seed());
    fuzz("parse_dtype", inputs, [](const std::string& text) {
        DType d = parse_dtype(text);
        REQUIRE(parse_dtype(to_string(d)) == d);
        REQUIRE(parse_dtype(torch_dtype_name(d)) == d);
    });
}

TEST_CASE("fuzz: variant texts and patterns parse and round-trip or are usage errors", "[fuzz]") {
    static TemplateRegistry registry({test::test_template_dir()});
    InputMaker inputs({"toy_attention:threads=256,mode=fancy", "toy_attention:smem_kb=40", "reference_attention:dtype=bf16",
                       "attention_mma:block_m=64", "toy_attention:threads=*,mode=plain|fancy", "toy_attention",
                       "attention_wmma:copy=sync|pipeline"},
                      {"toy_attention", "threads", "smem_kb", "mode", "fancy", "plain", "dtype", "block_m", "=*", "|"},
                      fuzz_seed());
    fuzz("parse_variant", inputs, [](const std::string& text) {
        // Patterns of the small test template expand (bounded); everything else parses as one.
        if (text.rfind("toy_attention:", 0) == 0 && text.find_first_of("*|") != std::string::npos) {
            for (const Variant& v : expand_variant_pattern(text, registry))
                REQUIRE(parse_variant(v.to_string(), registry) == v);
            return;
        }
        Variant v = parse_variant(text, registry);
        REQUIRE(parse_variant(v.to_string(), registry) == v);
    });
}

TEST_CASE("fuzz: --nvrtc-opt flags are taken or refused as usage errors", "[fuzz]") {
    InputMaker inputs({"-maxrregcount=128", "--maxrregcount=64", "-DNAME=1", "--define-macro=X", "-G", "-lineinfo"},
                      {"-maxrregcount=", "-D", "--", "-arch", "-I"}, fuzz_seed());
    fuzz("CompileOptions::add_flag", inputs, [](const std::string& text) {
        CompileOptions options;
        options.add_flag(text);
        REQUIRE_FALSE(options.canonical().empty());
    });
}
