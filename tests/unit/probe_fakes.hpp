// Probe results and requests shared by the bisect and compare tests (fake runners, no GPU).
#pragma once

#include <chrono>
#include <string>
#include <utility>

#include "flashcore/tools/probe.hpp"

namespace flashcore::test {

inline ProbeResult verdict(Verdict v, double err = -1, std::string message = {}) {
    ProbeResult r;
    r.verdict = v;
    r.max_abs_err = err;
    r.message = std::move(message);
    r.exit_code = v == Verdict::ok ? 0 : 1;
    return r;
}

// The seed project's WMMA variant.
inline const char* const kSeed = "attention_wmma:block_m=32,block_n=32,warps=4,copy=sync,p_dtype=f16";

inline ProbeRequest base_request() {
    ProbeRequest r;
    r.problem = AttentionProblem::from_shape("1,2,16,64");
    r.seed = 1234;
    r.compile.allowed_warnings = {"local-wmma"};
    r.env = {{"FLASHCORE_CACHE_DIR", "/tmp/x"}};
    r.timeout = std::chrono::seconds(7);
    return r;
}

}  // namespace flashcore::test
