// The child runner (src/tools/child_process.cpp, posix_spawn): environment overrides, pipes,
// exit codes, its own process group, a silence time limit, and a program that cannot start.
#include <catch2/catch.hpp>

#include <signal.h>
#include <unistd.h>

#include <string>

#include "tools/child_process.hpp"

using namespace flashcore::detail;
using namespace std::chrono_literals;

TEST_CASE("child: environment overrides, stdin, stdout lines, stderr and the exit code", "[child]") {
    std::vector<std::string> lines;
    ChildOutcome c = run_child({"/bin/sh", "-c", "echo \"$FLASHCORE_TEST_VALUE\"; echo \"home=${HOME:+set}\"; cat; echo oops >&2; exit 3"},
                               {{"FLASHCORE_TEST_VALUE", "from the parent"}}, 10s,
                               [&](const std::string& line) { lines.push_back(line); }, "fed on stdin\n");
    CHECK_FALSE(c.spawn_failed);
    CHECK(c.exit_code == 3);
    CHECK(c.signal == 0);
    REQUIRE(lines.size() == 3);
    CHECK(lines[0] == "from the parent");
    CHECK(lines[1] == (getenv("HOME") ? "home=set" : "home="));  // the rest of the environment is inherited
    CHECK(lines[2] == "fed on stdin");
    CHECK(c.stderr_tail == "oops\n");
}

TEST_CASE("child: runs in a process group of its own", "[child]") {
    ChildOutcome c = run_child({"/bin/sh", "-c", "echo $$ $(cut -d' ' -f5 /proc/$$/stat)"}, {}, 10s);
    REQUIRE(c.exit_code == 0);
    const std::string pid = c.stdout_tail.substr(0, c.stdout_tail.find(' '));
    const std::string group = c.stdout_tail.substr(c.stdout_tail.find(' ') + 1, pid.size());
    CHECK(pid == group);
    CHECK(std::to_string(::getpgrp()) != group);
}

TEST_CASE("child: a silent child is killed at the time limit", "[child]") {
    auto start = std::chrono::steady_clock::now();
    ChildOutcome c = run_child({"/bin/sh", "-c", "sleep 30"}, {}, 300ms);
    CHECK(c.timed_out);
    CHECK(c.signal == SIGKILL);
    CHECK(std::chrono::steady_clock::now() - start < 10s);
}

TEST_CASE("child: a program that does not exist is a spawn failure that says so", "[child]") {
    ChildOutcome c = run_child({"/nonexistent/flashcore-child"}, {}, 10s);
    CHECK(c.spawn_failed);
    CHECK(c.stderr_tail.find("/nonexistent/flashcore-child") != std::string::npos);
    CHECK(c.stderr_tail.find("No such file") != std::string::npos);
}
