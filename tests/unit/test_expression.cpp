#include <catch2/catch.hpp>

#include "flashcore/error.hpp"
#include "flashcore/expression.hpp"

using namespace flashcore;

namespace {
NameLookup names() {
    return [](const std::string& n) -> std::optional<Value> {
        if (n == "block_m") return Value{std::int64_t{64}};
        if (n == "warps") return Value{std::int64_t{4}};
        if (n == "copy") return Value{std::string("pipeline")};
        if (n == "problem.Sq") return Value{std::int64_t{77}};
        return std::nullopt;
    };
}
std::int64_t eval(const std::string& text) { return Expression::parse(text).evaluate_int(names()); }
}  // namespace

TEST_CASE("expressions follow C precedence and functions", "[expression]") {
    CHECK(eval("1 + 2 * 3") == 7);
    CHECK(eval("(1 + 2) * 3") == 9);
    CHECK(eval("10 - 4 - 3") == 3);
    CHECK(eval("17 % 5 + 8 / 3") == 4);
    CHECK(eval("-3 + 5") == 2);
    CHECK(eval("!0 && 1") == 1);
    CHECK(eval("1 < 2 && 2 <= 2 && 3 > 2 && 3 >= 4 || 5 != 5") == 0);
    CHECK(eval("block_m % (16 * warps) == 0") == 1);
    CHECK(eval("ceil_div(problem.Sq, block_m)") == 2);
    CHECK(eval("round_up(problem.Sq, 16)") == 80);
    CHECK(eval("min(3, warps) + max(3, warps)") == 7);
    CHECK(eval("log2(block_m)") == 6);
    CHECK(eval("copy == \"pipeline\" ? 2 : 1") == 2);
    CHECK(eval("copy != \"sync\" && true") == 1);
    CHECK(eval("warps > 2 ? warps > 3 ? 30 : 20 : 10") == 30);
}

TEST_CASE("expression errors are typed and say what is wrong", "[expression]") {
    auto error_of = [](const std::string& text) -> std::string {
        try {
            eval(text);
        } catch (const Error& e) {
            CHECK(e.code() == ErrorCode::bad_input);
            return e.info().message;
        }
        return "no error";
    };
    CHECK_THAT(error_of("1 +"), Catch::Contains("unexpected end"));
    CHECK_THAT(error_of("(1"), Catch::Contains("expected ')'"));
    CHECK_THAT(error_of("nope + 1"), Catch::Contains("unknown name 'nope'"));
    CHECK_THAT(error_of("4 / (warps - 4)"), Catch::Contains("division by zero"));
    CHECK_THAT(error_of("copy + 1"), Catch::Contains("needs a number"));
    CHECK_THAT(error_of("copy == 3"), Catch::Contains("cannot compare"));
    CHECK_THAT(error_of("log2(48)"), Catch::Contains("not a power of two"));
    CHECK_THAT(error_of("frob(1)"), Catch::Contains("unknown function"));
    CHECK_THAT(error_of("\"x\""), Catch::Contains("should give a number"));
}

TEST_CASE("expression names are listed and placeholders substituted", "[expression]") {
    auto e = Expression::parse("ceil_div(problem.Sq, block_m) * warps");
    CHECK(e.names() == std::vector<std::string>{"problem.Sq", "block_m", "warps"});
    CHECK(substitute_names("block_m={block_m} copy={copy} {unknown}", names()) == "block_m=64 copy=pipeline {unknown}");
}
