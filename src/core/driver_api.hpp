// Internal: the CUDA driver entry points, resolved at run time from libcuda.so.1 through
// cuGetProcAddress, so the library starts (and compiles) on machines with no driver.
#pragma once

#include <cuda.h>

#include <string>

namespace flashcore::detail {

// cuda.h maps some names to versioned symbols (cuMemAlloc -> cuMemAlloc_v2); decltype on the
// declared prototype keeps each pointer's signature exact without linking libcuda. The number
// is the ABI version of that prototype (cudaTypedefs.h's PFN_<name>_v<N>): cuGetProcAddress
// returns the newest version up to the one asked for, and asking for "everything up to 13.0"
// would hand back e.g. CUDA 13's cuCtxSynchronize(CUcontext) for a call written as
// cuCtxSynchronize(void).
#define FLASHCORE_DRIVER_FUNCTIONS(X)                                                                   \
    X(cuInit, 2000) X(cuDriverGetVersion, 2020) X(cuGetErrorName, 6000) X(cuGetErrorString, 6000)      \
    X(cuDeviceGetCount, 2000) X(cuDeviceGet, 2000) X(cuDeviceGetName, 2000)                              \
    X(cuDeviceGetAttribute, 2000) X(cuDeviceTotalMem, 3020) X(cuDevicePrimaryCtxRetain, 7000)           \
    X(cuDevicePrimaryCtxRelease, 11000) X(cuCtxSetCurrent, 4000) X(cuCtxSynchronize, 2000)              \
    X(cuCtxGetCurrent, 4000) X(cuStreamIsCapturing, 10000)                                               \
    X(cuModuleLoadData, 2000) X(cuModuleUnload, 2000) X(cuModuleGetFunction, 2000)                       \
    X(cuFuncGetAttribute, 2020) X(cuFuncSetAttribute, 9000) X(cuLaunchKernel, 4000)                      \
    X(cuLaunchKernelEx, 11060) X(cuTensorMapEncodeTiled, 12000)                                          \
    X(cuMemAlloc, 3020) X(cuMemFree, 3020) X(cuMemcpyHtoD, 3020) X(cuMemcpyDtoH, 3020)                   \
    X(cuMemsetD8, 3020) X(cuMemsetD16, 3020) X(cuMemsetD32, 3020) X(cuMemsetD8Async, 3020)               \
    X(cuMemGetInfo, 3020) X(cuStreamCreate, 2000) X(cuStreamDestroy, 4000) X(cuStreamSynchronize, 2000)  \
    X(cuEventCreate, 2000) X(cuEventDestroy, 4000) X(cuEventRecord, 2000) X(cuEventSynchronize, 2000)    \
    X(cuEventElapsedTime, 12080) X(cuStreamBeginCapture, 10010) X(cuStreamEndCapture, 10000)            \
    X(cuGraphInstantiateWithFlags, 11040) X(cuGraphLaunch, 10000) X(cuGraphDestroy, 10000)               \
    X(cuGraphExecDestroy, 10000)

struct DriverApi {
#define FLASHCORE_DECLARE(name, version) decltype(&::name) name = nullptr;
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
