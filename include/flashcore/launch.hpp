// Stage 5: the launch. Grid, block, cluster, dynamic shared memory and workspace come from the
// variant's schema contract (derive_launch) — the one place they are computed — and every
// launch is checked against the device before it is issued.
#pragma once

#include <cuda.h>

#include <cstddef>
#include <optional>
#include <string>

#include "flashcore/load.hpp"
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
    // Thread-block cluster (sm_90+); {1,1,1}: an ordinary launch. Each grid dimension is a
    // multiple of the cluster's.
    unsigned cluster[3] = {1, 1, 1};

    bool clustered() const { return cluster[0] * cluster[1] * cluster[2] > 1; }
};

// Evaluates the schema's launch contract. Throws Error(bad_problem) for an empty or oversized
// grid or a grid that is no multiple of the cluster, and Error(bad_input) when an expression
// fails or a value is out of range.
LaunchDims derive_launch(const Variant& variant, const NameLookup& problem);
// The same without throwing for what derive_launch reports: nullopt and why (`code` as the
// throwing form would raise it).
std::optional<LaunchDims> try_derive_launch(const Variant& variant, const NameLookup& problem, std::string* why,
                                            ErrorCode* code = nullptr);

// The largest cluster a launch may use without the non-portable-size opt-in.
inline constexpr unsigned kMaxPortableCluster = 8;

// Opt-in shared memory per block for a compute capability (bytes), 0 if unknown. For
// compile-only reports; a live device is always asked directly.
int known_smem_optin(int sm);

// "requested 62.0 KB (static 2.0 + dynamic 60.0) > opt-in max 99.0 KB on NVIDIA L4" or "".
std::string shared_memory_overflow(std::size_t static_bytes, std::size_t dynamic_bytes, std::size_t optin_bytes,
                                   const std::string& where);

// The driver call alone (no checks): cuLaunchKernel, or cuLaunchKernelEx with the
// programmatic-serialization and cluster-dimension attributes the dims ask for. `args` points
// at each kernel parameter in order. For launch() and overhead baselines.
CUresult launch_raw(CUfunction function, const LaunchDims& dims, void** args, CUstream stream);
// The name of the driver call launch_raw makes for `dims` (for error messages).
std::string launch_call_name(const LaunchDims& dims);

// Checks the launch against the kernel and device (threads; static + dynamic shared memory vs
// the opt-in maximum: Error(resource_exceeded) with the arithmetic), raises the dynamic
// shared-memory attribute when needed, and launches. Fault reports name the variant.
void launch(LoadedKernel& kernel, const LaunchDims& dims, void** args, CUstream stream);

}  // namespace flashcore
