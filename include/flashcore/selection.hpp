// Which variant `auto` means for a problem: the fastest tuned record of the problem's bucket
// when one exists, else the heuristic of heuristic.cpp, else the always-correct reference.
#pragma once

#include <string>
#include <vector>

#include "flashcore/attention.hpp"
#include "flashcore/variant.hpp"

namespace flashcore {

class Runtime;
struct DeviceInfo;

struct Selection {
    std::string variant;  // canonical
    std::string source;   // "tuned" | "heuristic" | "fallback"
    std::string why;      // record file or rule, for logs and `flashcore run auto`
};

// Candidate variants (text) the heuristic proposes for a problem, best first. Pure function
// of the problem and the device; each branch cites the measurement behind it.
std::vector<std::string> heuristic_variants(const AttentionProblem& problem, const DeviceInfo& device);

// Resolves `auto` for a problem on a device (no GPU needed: device facts are passed in).
Selection select_variant(Runtime& runtime, const AttentionProblem& problem, const DeviceInfo& device);

}  // namespace flashcore
