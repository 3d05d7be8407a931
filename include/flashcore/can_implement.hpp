// "Can this variant run this problem on this device?" — answered once, here, for every caller:
// Runtime::check_problem, `auto` (selection), tune's candidate filter and build's fit report.
// The answer is ok or the first reason against, named (which check) and worded for people (the
// schema's message where a schema check fails). No exceptions for a "no".
#pragma once

#include <string>

#include "flashcore/attention.hpp"
#include "flashcore/device_info.hpp"
#include "flashcore/error.hpp"
#include "flashcore/tensor_views.hpp"
#include "flashcore/variant.hpp"

namespace flashcore {

// The check that said no, in the order they run.
enum class FitCheck {
    ok,
    problem,        // the problem itself is malformed (AttentionProblem::invalid_reason)
    tensors,        // the operand views do not fit the problem or break a layout rule (find_tensor_issue)
    min_sm,         // the device is older than the template's min_sm
    max_sm,         // the device is newer than the template's max_sm ('a' targets are not forward compatible)
    problem_check,  // a schema "problem" check is false (message from the schema)
    launch,         // the launch contract cannot be derived (grid out of range, grid vs cluster, an expression)
    kernel_args,    // a tensor-map argument cannot be built (box out of range or unfit for the dtype, or
                    // with tensors given: base or strides unfit for TMA, tensor_map_arguments)
    cluster,        // a cluster launch on a device or driver without clusters (sm_90+)
    tensor_maps,    // tensor-map arguments on a device or driver without TMA (sm_90+, driver 12.0+)
    shared_memory,  // static + dynamic shared memory above the device's opt-in maximum
};
const char* to_string(FitCheck check);

struct Fit {
    FitCheck check = FitCheck::ok;
    ErrorCode code = ErrorCode::bad_problem;  // what an error for this reason is (see check_problem)
    std::string message;

    bool ok() const { return check == FitCheck::ok; }
    explicit operator bool() const { return ok(); }
};

// What can_implement is told. Whatever is missing is not checked: without a problem, problem
// checks and problem-dependent launch values are skipped (build's compile-only report); without
// a device, device limits are.
struct FitQuery {
    const AttentionProblem* problem = nullptr;
    const DeviceInfo* device = nullptr;
    int static_smem = 0;  // of the compiled kernel, when known (else only dynamic memory counts)
    // The operands of the call, when known: every family's layout rules (find_tensor_issue) and
    // a tensor-map family's (tensor_map_arguments) are checked against them. The answer depends
    // on their layout_of() only, never on the pointer values beyond their alignment.
    const AttentionTensors* tensors = nullptr;
};

Fit can_implement(const Variant& variant, const FitQuery& query);
inline Fit can_implement(const Variant& variant, const AttentionProblem& problem, const DeviceInfo& device) {
    return can_implement(variant, FitQuery{&problem, &device, 0});
}

// Device facts a compile target implies (sm, the opt-in shared memory of that sm, the target as
// the name), for reports made without a GPU.
DeviceInfo target_facts(int sm, const std::string& name);

}  // namespace flashcore
