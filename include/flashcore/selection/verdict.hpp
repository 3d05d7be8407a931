// The outcome of running one variant on one problem: what a crash-isolated probe reports
// (tools) and what a tuning record keeps (selection reads only `ok` records).
#pragma once

#include <string>

namespace flashcore {

enum class Verdict {
    ok,              // ran and matched the reference
    compile_error,   // NVRTC rejected it, or a promoted warning
    resource_error,  // does not fit the device (shared memory, threads) or the problem
    launch_fault,    // the kernel faulted (or the child died)
    mismatch,        // ran, but the result is wrong
    timeout,         // did not finish within the time limit
    invalid,         // not a valid variant (schema constraint); never launched
    no_driver,       // no CUDA driver on this machine: nothing could run (says nothing of the variant)
    no_device,       // a driver but not the GPU asked for: nothing could run
};
const char* to_string(Verdict verdict);
Verdict parse_verdict(const std::string& text);  // throws Error(bad_input)

}  // namespace flashcore
