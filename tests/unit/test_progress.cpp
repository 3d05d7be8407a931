// The progress line's text (what a terminal shows; drawing itself is tests/cli/progress_tty.sh).
#include <catch2/catch.hpp>

#include <sstream>

#include "flashcore/tools/progress.hpp"

using flashcore::Progress;

TEST_CASE("progress: count, rate, ETA and the variant running", "[progress]") {
    Progress p("building", 4, false);
    CHECK(p.line(0.5) == "[0/4 1s] building");  // nothing finished: no rate, no ETA yet
    p.start("toy:a");
    CHECK(p.line(1) == "[0/4 1s] building toy:a");
    p.start("toy:b");
    CHECK(p.line(1) == "[0/4 1s] building toy:b (+1 running)");
    p.step("toy:a");
    CHECK(p.line(2) == "[1/4 2s, 2.0s each, ETA 6s] building toy:b");
    p.step("toy:b");
    p.start("toy:c");
    CHECK(p.line(4) == "[2/4 4s, 2.0s each, ETA 4s] building toy:c");
}

TEST_CASE("progress: a narrow terminal shortens the variant, not the count or the running note", "[progress]") {
    Progress p("building", 48, false);
    p.start("attention_mma:block_m=128,block_n=128,warps=8,kv_warps=1,stages=3");
    p.start("attention_mma:block_m=64,block_n=128,warps=8,kv_warps=1,stages=3");
    p.step("attention_mma:block_m=128,block_n=128,warps=8,kv_warps=1,stages=3");
    p.start("attention_mma:block_m=32,block_n=64,warps=4,kv_warps=1,stages=2");
    const std::string line = p.line(3, 80);
    CHECK(line == "[1/48 3s, 3.0s each, ETA 2m21s] building attention_mma:block_m=3... (+1 running)");
    CHECK(line.size() <= 80);
}

TEST_CASE("progress: reused items count but do not enter the rate", "[progress]") {
    Progress p("tuning", 10, false);
    p.skip(6);
    p.step("v");
    CHECK(p.line(5) == "[7/10 5s, 5.0s each, ETA 15s] tuning v");
}

TEST_CASE("progress: not live, write() passes text through untouched", "[progress]") {
    Progress p("building", 2, false);
    CHECK_FALSE(p.live());
    std::ostringstream out;
    p.write(out, "ok   row\n");
    CHECK(out.str() == "ok   row\n");
}
