// Internal: the CUDA driver entry points, resolved at run time from libcuda.so.1 through
// cuGetProcAddress, so the library starts (and compiles) on machines with no driver.
#pragma once

#include <cuda.h>

#include <string>

namespace flashcore::detail {

// cuda.h maps some names to versioned symbols (cuMemAlloc -> cuMemAlloc_v2); decltype on the
// declared prototype keeps each pointer's signature exact without linking libcuda.
#define FLASHCORE_DRIVER_FUNCTIONS(X)                                                                   \
    X(cuInit) X(cuDriverGetVersion) X(cuGetErrorName) X(cuGetErrorString) X(cuDeviceGetCount)           \
    X(cuDeviceGet) X(cuDeviceGetName) X(cuDeviceGetAttribute) X(cuDeviceTotalMem)                        \
    X(cuDevicePrimaryCtxRetain) X(cuDevicePrimaryCtxRelease) X(cuCtxSetCurrent) X(cuCtxSynchronize)      \
    X(cuModuleLoadData) X(cuModuleUnload) X(cuModuleGetFunction) X(cuFuncGetAttribute)                   \
    X(cuFuncSetAttribute) X(cuLaunchKernel) X(cuMemAlloc) X(cuMemFree) X(cuMemcpyHtoD) X(cuMemcpyDtoH)   \
    X(cuMemsetD8) X(cuMemsetD16) X(cuMemsetD32) X(cuMemsetD8Async) X(cuMemGetInfo) X(cuStreamCreate)     \
    X(cuStreamDestroy) X(cuStreamSynchronize) X(cuEventCreate) X(cuEventDestroy) X(cuEventRecord)        \
    X(cuEventSynchronize) X(cuEventElapsedTime) X(cuStreamBeginCapture) X(cuStreamEndCapture)            \
    X(cuGraphInstantiateWithFlags) X(cuGraphLaunch) X(cuGraphDestroy) X(cuGraphExecDestroy)

struct DriverApi {
#define FLASHCORE_DECLARE(name) decltype(&::name) name = nullptr;
    FLASHCORE_DRIVER_FUNCTIONS(FLASHCORE_DECLARE)
#undef FLASHCORE_DECLARE
    int driver_version = 0;
};

// The loaded table. Throws Error(driver, no_driver) with the dlopen reason when libcuda.so.1
// (or `library` on the first call) cannot be opened or initialised. Thread-safe; loads once.
const DriverApi& driver_api(const std::string& library = "libcuda.so.1");

// "CUDA_ERROR_ILLEGAL_ADDRESS (an illegal memory access was encountered)"
std::string describe(CUresult rc);
// Errors after which the context is unusable (the process must restart to use the GPU).
bool is_sticky(CUresult rc);

}  // namespace flashcore::detail
