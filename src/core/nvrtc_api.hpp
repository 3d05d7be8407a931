// Internal: NVRTC, opened at run time (like the driver) so that a host which only loads
// cached kernels (FLASHCORE_JIT=forbid, prebuilt caches) needs no NVRTC installed. The
// entry points the pipeline uses, resolved once per process.
#pragma once

#include <nvrtc.h>

#include <string>

namespace flashcore::detail {

#define FLASHCORE_NVRTC_FUNCTIONS(X)                                                                          \
    X(nvrtcGetErrorString) X(nvrtcVersion) X(nvrtcGetNumSupportedArchs) X(nvrtcGetSupportedArchs)              \
    X(nvrtcCreateProgram) X(nvrtcDestroyProgram) X(nvrtcAddNameExpression) X(nvrtcCompileProgram)              \
    X(nvrtcGetProgramLogSize) X(nvrtcGetProgramLog) X(nvrtcGetLoweredName) X(nvrtcGetCUBINSize) X(nvrtcGetCUBIN)

struct NvrtcApi {
#define FLASHCORE_NVRTC_MEMBER(name) decltype(&::name) name = nullptr;
    FLASHCORE_NVRTC_FUNCTIONS(FLASHCORE_NVRTC_MEMBER)
#undef FLASHCORE_NVRTC_MEMBER
    std::string library;  // the file that was opened
};

// NVRTC from `library` ("" = libnvrtc.so.<major> on the loader path, then under $CUDA_HOME
// and /usr/local/cuda). The first call decides for the process. Null when it cannot be
// opened; `why` (if given) then says what was tried.
const NvrtcApi* nvrtc_api(const std::string& library = {}, std::string* why = nullptr);

}  // namespace flashcore::detail
