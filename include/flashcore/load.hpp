// Stage 4: a compiled kernel loaded on one device — module, function and the attributes the
// launch checks against. Takes the compile result only (not a cache entry): where the cubin
// came from is the cache's business.
#pragma once

#include <cuda.h>

#include <atomic>
#include <cstddef>
#include <memory>

#include "flashcore/compile.hpp"
#include "flashcore/driver.hpp"
#include "flashcore/variant.hpp"

namespace flashcore {

class LoadedKernel {
public:
    // Loads `compiled` on `device`. Throws Error(load) when the driver refuses the module or
    // the function (a cubin for another arch, a wrong lowered name), Error(launch_fault) when
    // the context is already dead. Prefer load(), which says the same in one call.
    LoadedKernel(const Device& device, Variant variant, const Compiled& compiled);
    LoadedKernel(const LoadedKernel&) = delete;
    LoadedKernel& operator=(const LoadedKernel&) = delete;

    const Variant& variant() const { return variant_; }
    const Device& device() const { return device_; }
    CUfunction function() const { return function_; }
    int static_smem() const { return static_smem_; }
    int registers() const { return registers_; }
    int max_threads() const { return max_threads_; }

    // Raises the function's dynamic shared-memory limit to `bytes` when it is below (one
    // driver call the first time; thread-safe).
    void ensure_dynamic_smem(std::size_t bytes);

private:
    const Device& device_;
    Variant variant_;
    Module module_;
    CUfunction function_ = nullptr;
    int static_smem_ = 0;
    int registers_ = 0;
    int max_threads_ = 0;
    std::atomic<std::size_t> dynamic_limit_{0};
};

// The load stage as a function: see the constructor.
std::unique_ptr<LoadedKernel> load(const Device& device, const Variant& variant, const Compiled& compiled);

}  // namespace flashcore
