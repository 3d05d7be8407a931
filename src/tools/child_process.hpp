// Internal: run a program as a child in its own process group, feed it a document on stdin,
// stream its stdout lines to a callback, and kill the whole group when it stays silent past a
// time limit.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace flashcore::detail {

struct ChildOutcome {
    int exit_code = -1;  // -1 when it did not exit normally
    int signal = 0;      // the signal that ended it, 0 if none
    bool timed_out = false;
    bool spawn_failed = false;
    std::string stdout_tail;
    std::string stderr_tail;
    double wall_ms = 0;
};

// `timeout` is a silence limit: it restarts whenever a stdout line arrives (one line per unit
// of work keeps a long batch alive; a hung unit is still caught). `input` is written to the
// child's stdin, which is then closed (the child's stdin is empty when `input` is). Never throws.
ChildOutcome run_child(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                       std::chrono::milliseconds timeout, const std::function<void(const std::string&)>& on_line = {},
                       const std::string& input = {});

}  // namespace flashcore::detail
