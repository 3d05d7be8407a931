// One error type for everything a user, a template or a GPU can cause.
// Library code throws flashcore::Error and never exits; only main() decides what to do.
#pragma once

#include <stdexcept>
#include <string>

namespace flashcore {

// Where in the pipeline the error happened.
enum class Stage { validate, render, compile, load, launch, cache, driver, verify, io };

// What kind of error it is; decides the CLI exit code (bad input -> 2, failed work -> 1).
enum class ErrorCode {
    bad_input,          // malformed variant, unknown template/field/value, violated constraint
    bad_problem,        // a problem shape the variant or device cannot take
    compile_failed,     // NVRTC rejected the source
    warning_promoted,   // a warning on the promote list turned into an error
    resource_exceeded,  // shared memory / threads over the device limit
    jit_forbidden,      // FLASHCORE_JIT=forbid and the cubin is not cached
    no_driver,          // libcuda.so.1 could not be opened
    no_compiler,        // NVRTC could not be opened (a cache miss cannot be compiled here)
    no_device,          // a driver but no usable GPU
    driver_error,       // any other CUDA driver failure
    launch_fault,       // a kernel faulted (sticky error); the context is poisoned
    context_poisoned,   // work refused because an earlier fault poisoned the context
    timeout,
    cache_io,           // the cache directory could not be read or written
    internal,
};

const char* to_string(Stage stage);
const char* to_string(ErrorCode code);

struct ErrorInfo {
    Stage stage = Stage::validate;
    ErrorCode code = ErrorCode::internal;
    std::string message;  // what happened and what to do next
    int native = 0;       // CUresult / nvrtcResult / errno, 0 if none
    std::string log;      // compile log or other long detail
    std::string variant;  // canonical variant string, if one was involved
    std::string arch;     // target arch (sm_90a...), if known
};

class Error : public std::runtime_error {
public:
    explicit Error(ErrorInfo info);
    const ErrorInfo& info() const noexcept { return info_; }
    Stage stage() const noexcept { return info_.stage; }
    ErrorCode code() const noexcept { return info_.code; }
    // True for errors caused by the caller's input (exit code 2 at the CLI).
    bool is_usage_error() const noexcept;

private:
    ErrorInfo info_;
};

// Convenience for the common case: throw Error{stage, code, message}.
[[noreturn]] void fail(Stage stage, ErrorCode code, std::string message, std::string variant = {},
                       std::string arch = {});

}  // namespace flashcore
