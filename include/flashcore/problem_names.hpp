// The names a schema expression reads from a problem and a device: `problem.B`, `problem.D`,
// `problem.dtype`... and, when device facts are given, `problem.sm`, `problem.num_sms`,
// `problem.smem_optin` (docs/templates.md lists them).
#pragma once

#include "flashcore/attention.hpp"
#include "flashcore/device_info.hpp"
#include "flashcore/expression.hpp"

namespace flashcore {

// The lookup copies what it needs, so it may outlive its arguments. Device names are unknown
// (the lookup returns nullopt) without `device`, or where the fact is 0 (unknown).
NameLookup problem_names(const AttentionProblem& problem, const DeviceInfo* device = nullptr);

}  // namespace flashcore
