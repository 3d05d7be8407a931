// The child side of crash isolation, behind `flashcore probe`: runs variants on the inputs of
// one request and reports a verdict for each as it goes.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "flashcore/runtime.hpp"
#include "flashcore/tools/probe.hpp"

namespace flashcore {

// Every variant sees the same inputs (one harness, seeded by request.seed, or fresh when 0).
// Stops after a launch fault: this process's context is gone, the parent restarts the rest.
// Returns true when every verdict was ok. Never throws for what a variant does.
bool run_probes(Runtime& runtime, const ProbeRequest& request, const std::vector<std::string>& variants,
                const std::function<void(const ProbeResult&)>& on_result);

}  // namespace flashcore
