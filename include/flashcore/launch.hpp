// Stage 4: the launch. Grid, block, dynamic shared memory and workspace come from the
// variant's schema contract (derive_launch) — the one place they are computed — and every
// launch is checked against the device before it is issued.
#pragma once

#include <cuda.h>

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>

#include "flashcore/disk_cache.hpp"
#include "flashcore/driver.hpp"
#include "flashcore/variant.hpp"

namespace flashcore {

struct LaunchDims {
    unsigned grid[3] = {1, 1, 1};
    unsigned block = 0;
    std::size_t dynamic_smem = 0;
    std::size_t workspace_bytes = 0;
    std::size_t workspace_zero_bytes = 0;
    // Programmatic dependent launch (sm_90+): the kernel may start before the previous kernel in
    // the stream finishes; it must execute griddepcontrol.wait before touching global memory.
    bool programmatic = false;
};

// Evaluates the schema's launch contract. Throws Error(bad_problem) for an empty or
// oversized grid, and Error(bad_input) when an expression fails.
LaunchDims derive_launch(const Variant& variant, const NameLookup& problem);

// Opt-in shared memory per block for a compute capability (bytes), 0 if unknown. For
// compile-only reports; a live device is always asked directly.
int known_smem_optin(int sm);

// "requested 62.0 KB (static 2.0 + dynamic 60.0) > opt-in max 99.0 KB on NVIDIA L4" or "".
std::string shared_memory_overflow(std::size_t static_bytes, std::size_t dynamic_bytes, std::size_t optin_bytes,
                                   const std::string& where);

// The driver call alone (no checks): cuLaunchKernel, or cuLaunchKernelEx with programmatic
// stream serialization when dims.programmatic. For LoadedKernel::launch and overhead baselines.
CUresult launch_raw(CUfunction function, const LaunchDims& dims, void** args, CUstream stream);

// A compiled variant loaded on one device: module + function + attributes.
class LoadedKernel {
public:
    LoadedKernel(const Device& device, Variant variant, std::shared_ptr<const CacheEntry> entry);

    const Variant& variant() const { return variant_; }
    const CacheEntry& entry() const { return *entry_; }
    const Device& device() const { return device_; }
    int static_smem() const { return static_smem_; }
    int registers() const { return registers_; }
    int max_threads() const { return max_threads_; }
    CUfunction function() const { return function_; }

    // Checks the launch against the device (threads, static + dynamic shared memory vs the
    // opt-in maximum; Error(resource_exceeded) with the arithmetic), raises the dynamic
    // shared-memory attribute when needed, and launches. Fault reports name the variant.
    void launch(const LaunchDims& dims, void** args, CUstream stream);

private:
    const Device& device_;
    Variant variant_;
    std::shared_ptr<const CacheEntry> entry_;
    Module module_;
    CUfunction function_ = nullptr;
    int static_smem_ = 0;
    int registers_ = 0;
    int max_threads_ = 0;
    std::atomic<std::size_t> dynamic_limit_{0};
};

}  // namespace flashcore
