#include <catch2/catch.hpp>

#include "flashcore/attention.hpp"
#include "flashcore/problem_names.hpp"
#include "flashcore/error.hpp"
#include "flashcore/template_registry.hpp"
#include "flashcore/variant.hpp"
#include "test_support.hpp"

using namespace flashcore;

namespace {
const TemplateRegistry& registry() {
    static TemplateRegistry r({test::test_template_dir()});
    return r;
}
std::string error_of(const std::string& text) {
    try {
        parse_variant(text, registry());
    } catch (const Error& e) {
        CHECK(e.is_usage_error());
        return e.info().message;
    }
    return "no error";
}
}  // namespace

TEST_CASE("canonical string lists every field in schema order", "[variant]") {
    Variant v = parse_variant("toy_attention:mode=fancy,threads=256", registry());
    CHECK(v.to_string() == "toy_attention:threads=256,smem_kb=0,mode=fancy");
    CHECK(v.int_value("threads") == 256);
    CHECK(to_string(v.value("mode")) == "fancy");
    // Defaults are filled in; spacing does not matter.
    CHECK(parse_variant(" toy_attention ", registry()).to_string() == "toy_attention:threads=128,smem_kb=0,mode=plain");
    CHECK(parse_variant("toy_attention: smem_kb = 40 ", registry()).to_string() ==
          "toy_attention:threads=128,smem_kb=40,mode=plain");
}

TEST_CASE("parse(to_string(v)) == v for every valid variant of every template", "[variant]") {
    size_t checked = 0;
    for (const auto& id : registry().template_ids()) {
        auto schema = registry().schema(id);
        // One pattern per value of the widest parameter (head_dim), each below the expansion cap.
        const ParamSpec* widest = nullptr;
        for (const auto& p : schema->params)
            if (!widest || p.values.size() > widest->values.size()) widest = &p;
        std::vector<std::string> patterns;
        const size_t rounds = widest && !widest->values.empty() ? widest->values.size() : 1;
        for (size_t i = 0; i < rounds; ++i) {
            std::string fields;
            for (const auto& p : schema->params)
                fields += (fields.empty() ? "" : ",") + p.name + "=" + (&p == widest && !p.values.empty() ? to_string(p.values[i]) : "*");
            patterns.push_back(fields.empty() ? id : id + ":" + fields);
        }
        for (const auto& pattern : patterns)
            // Every variant on purpose: far past the interactive limit (kMaxPatternVariants).
            for (const auto& v : expand_variant_pattern(pattern, registry(), nullptr, nullptr, 1u << 20)) {
                Variant again = parse_variant(v.to_string(), registry());
                REQUIRE(again == v);
                REQUIRE(again.values() == v.values());
                ++checked;
            }
    }
    CHECK(checked > 50);
}

TEST_CASE("hidden fields appear only when set", "[variant]") {
    Variant plain = parse_variant("toy_attention", registry());
    CHECK(plain.to_string().find("fault") == std::string::npos);
    Variant faulty = parse_variant("toy_attention:fault=oob", registry());
    CHECK(faulty.to_string() == "toy_attention:threads=128,smem_kb=0,mode=plain,fault=oob");
    CHECK(parse_variant(faulty.to_string(), registry()) == faulty);
    CHECK(faulty != plain);
}

TEST_CASE("every schema error names the field, the value and what is allowed", "[variant]") {
    CHECK_THAT(error_of("no_such_template"), Catch::Contains("unknown template 'no_such_template'") &&
                                                 Catch::Contains("reference_attention") && Catch::Contains("toy_attention"));
    CHECK_THAT(error_of("toy_attention:blok=3"),
               Catch::Contains("no field 'blok'") && Catch::Contains("threads, smem_kb, mode"));
    CHECK_THAT(error_of("toy_attention:threads=100"),
               Catch::Contains("'threads'") && Catch::Contains("'100'") && Catch::Contains("{64, 128, 256}"));
    CHECK_THAT(error_of("toy_attention:threads=abc"), Catch::Contains("cannot be 'abc'"));
    CHECK_THAT(error_of("toy_attention:threads=12x"), Catch::Contains("cannot be '12x'"));
    CHECK_THAT(error_of("toy_attention:mode=weird"), Catch::Contains("{plain, fancy}"));
    CHECK_THAT(error_of("toy_attention:threads"), Catch::Contains("has no '=value'"));
    CHECK_THAT(error_of("toy_attention:threads="), Catch::Contains("empty value"));
    CHECK_THAT(error_of("toy_attention:threads=64,threads=128"), Catch::Contains("given twice"));
    CHECK_THAT(error_of("toy_attention:threads=64,,mode=plain"), Catch::Contains("empty field"));
    CHECK_THAT(error_of(":threads=64"), Catch::Contains("missing template name"));
    // A violated constraint quotes the schema's message with the values filled in.
    CHECK_THAT(error_of("toy_attention:threads=64,mode=fancy"),
               Catch::Contains("mode=fancy needs threads >= 128, got threads=64") && Catch::Contains("is invalid"));
}

TEST_CASE("bound fields follow the problem unless spelled out", "[variant]") {
    AttentionProblem p = AttentionProblem::from_shape("1,8,8,128,128,64");
    p.dtype = DType::bf16;
    Variant bound = parse_variant("reference_attention", registry(), problem_names(p));
    CHECK(bound.to_string() == "reference_attention:dtype=bf16");
    Variant explicit_dtype = parse_variant("reference_attention:dtype=f32", registry(), problem_names(p));
    CHECK(explicit_dtype.to_string() == "reference_attention:dtype=f32");
    CHECK(parse_variant("reference_attention", registry()).to_string() == "reference_attention:dtype=f16");
}

TEST_CASE("patterns expand to the valid combinations", "[variant]") {
    size_t rejected = 0;
    auto all = expand_variant_pattern("toy_attention:threads=*,mode=*", registry(), &rejected);
    CHECK(all.size() == 5);  // 3 x 2, minus threads=64 with mode=fancy
    CHECK(rejected == 1);
    auto some = expand_variant_pattern("toy_attention:smem_kb=0|40", registry());
    REQUIRE(some.size() == 2);
    CHECK(some[1].int_value("smem_kb") == 40);
    CHECK_THROWS_AS(expand_variant_pattern("toy_attention:threads=1|2", registry()), Error);
}

TEST_CASE("differences between variants are listed by field", "[variant]") {
    Variant a = parse_variant("toy_attention:threads=64", registry());
    Variant b = parse_variant("toy_attention:threads=256,mode=fancy", registry());
    CHECK(variant_differences(a, b) == std::vector<std::string>{"threads: 64 -> 256", "mode: plain -> fancy"});
}

TEST_CASE("broken schemas are rejected with the file and the reason", "[variant][schema]") {
    auto error_of_schema = [](const std::string& json) -> std::string {
        try {
            TemplateSchema::from_json(json, "test.schema.json");
        } catch (const Error& e) {
            return e.info().message;
        }
        return "no error";
    };
    const std::string head = R"({"template":"x","kernel":"k","signature":"attention",)";
    CHECK_THAT(error_of_schema("{"), Catch::Contains("not valid JSON"));
    CHECK_THAT(error_of_schema(head + R"("params":[{"name":"a","type":"int","values":[1,2],"default":3}],"launch":{"block":"32","grid":["1"]}})"),
               Catch::Contains("default 3 is not in {1, 2}"));
    CHECK_THAT(error_of_schema(head + R"("params":[],"derived":[{"name":"d","expr":"zz * 2"}],"launch":{"block":"32","grid":["1"]}})"),
               Catch::Contains("unknown name 'zz'"));
    CHECK_THAT(error_of_schema(head + R"("params":[],"launch":{"block":"32","grid":["problem.Bogus"]}})"),
               Catch::Contains("unknown problem field 'problem.Bogus'"));
    CHECK_THAT(error_of_schema(head + R"("params":[],"constraints":[{"expr":"problem.B > 1"}],"launch":{"block":"32","grid":["1"]}})"),
               Catch::Contains("problem fields are not available here"));
    CHECK_THAT(error_of_schema(head + R"("params":[],"launch":{"block":"32","grid":[]}})"), Catch::Contains("launch.grid"));
    CHECK_THAT(error_of_schema(head + R"("params":[{"name":"a","type":"int","values":["x"],"default":"x"}],"launch":{"block":"32","grid":["1"]}})"),
               Catch::Contains("does not match type int"));
}

TEST_CASE("every shipped template schema loads", "[variant][schema]") {
    TemplateRegistry embedded;
    auto ids = embedded.template_ids();
    CHECK(std::find(ids.begin(), ids.end(), "reference_attention") != ids.end());
    for (const auto& id : ids) CHECK_NOTHROW(embedded.schema(id));
}

TEST_CASE("attention_wmma and attention_mma constraints reject impossible tiles with reasons", "[variant][schema]") {
    TemplateRegistry embedded;
    auto rejected = [&](const std::string& text, const std::string& expect) {
        INFO(text);
        try {
            parse_variant(text, embedded);
            FAIL_CHECK("accepted " << text);
        } catch (const Error& e) {
            CHECK(e.code() == ErrorCode::bad_input);
            CHECK_THAT(e.info().message, Catch::Contains(expect));
        }
    };
    // The seed's three variants are valid.
    CHECK_NOTHROW(parse_variant("attention_wmma:block_m=32,block_n=32,warps=4,copy=sync,p_dtype=f16", embedded));
    CHECK_NOTHROW(parse_variant("attention_wmma:block_m=64,block_n=32,warps=4,copy=pipeline,stages=2", embedded));
    CHECK_NOTHROW(parse_variant("attention_wmma:block_m=64,block_n=32,warps=4,copy=memcpy_async,stages=2", embedded));
    rejected("attention_wmma:copy=sync,stages=2", "stages");
    rejected("attention_wmma:p_dtype=f16,dtype=bf16", "p_dtype=f32");
    rejected("attention_wmma:block_m=48,block_n=32,warps=16", "warps");
    rejected("attention_mma:block_m=64,warps=8,head_dim=64", "rows per warp");
    rejected("attention_mma:block_m=128,block_n=128,warps=4,stages=3,head_dim=256", "smem_bytes");
    // kv_warps: warps = row_warps x kv_warps, each row warp 16 or 32 rows, one K/V ring per group.
    CHECK_NOTHROW(parse_variant("attention_mma:block_m=32,block_n=64,warps=8,kv_warps=4,stages=2,head_dim=64", embedded));
    CHECK_NOTHROW(parse_variant("attention_mma:block_m=16,block_n=32,warps=4,kv_warps=4,stages=2,head_dim=128", embedded));
    rejected("attention_mma:block_m=16,warps=4,kv_warps=8,head_dim=64", "kv_warps=8 must divide warps");
    rejected("attention_mma:block_m=128,warps=4,kv_warps=2,head_dim=64", "row_warps=2");
    rejected("attention_mma:block_m=16,block_n=128,warps=8,kv_warps=8,stages=3,head_dim=128", "K/V rings");
    // Bound fields follow the problem; a problem the family cannot take is a clear error.
    // (attention_mma takes any multiple of 8 up to 256.)
    AttentionProblem odd = AttentionProblem::from_shape("1,2,2,64,64,100");
    try {
        parse_variant("attention_mma", embedded, problem_names(odd));
        FAIL_CHECK("accepted D=100");
    } catch (const Error& e) {
        CHECK(e.code() == ErrorCode::bad_problem);
        CHECK_THAT(e.info().message, Catch::Contains("D=100") && Catch::Contains("{8, 16, 24,") &&
                                         Catch::Contains("248, 256}"));
    }
}
