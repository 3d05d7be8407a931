#include "core/driver_api.hpp"

#include <dlfcn.h>

#include <mutex>

#include "flashcore/error.hpp"

namespace flashcore::detail {

namespace {

using GetProcAddress = CUresult (*)(const char*, void**, int, cuuint64_t, CUdriverProcAddressQueryResult*);

[[noreturn]] void no_driver(const std::string& why) {
    ErrorInfo info;
    info.stage = Stage::driver;
    info.code = ErrorCode::no_driver;
    info.message = "no CUDA driver found: " + why +
                   ". Compile-only work (build, cache) still runs; GPU work needs an NVIDIA driver (libcuda.so.1)";
    throw Error(std::move(info));
}

DriverApi load(const std::string& library) {
    void* handle = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        const char* why = dlerror();
        no_driver(why ? why : ("cannot open " + library));
    }
    auto get_proc = reinterpret_cast<GetProcAddress>(dlsym(handle, "cuGetProcAddress_v2"));
    if (!get_proc) no_driver(library + " has no cuGetProcAddress_v2 (driver older than CUDA 12)");
    auto driver_get_version = reinterpret_cast<CUresult (*)(int*)>(dlsym(handle, "cuDriverGetVersion"));
    int version = 0;
    if (!driver_get_version || driver_get_version(&version) != CUDA_SUCCESS) no_driver("cuDriverGetVersion failed");
    DriverApi api;
    api.driver_version = version;
#define FLASHCORE_LOAD(name, abi)                                                                         \
    {                                                                                                     \
        void* fn = nullptr;                                                                               \
        CUdriverProcAddressQueryResult status{};                                                          \
        int want = (abi) < version ? (abi) : version; /* an older driver: its own (same signature) */     \
        if (get_proc(#name, &fn, want, CU_GET_PROC_ADDRESS_DEFAULT, &status) != CUDA_SUCCESS || !fn)     \
            no_driver(std::string("driver entry point ") + #name + " is missing (driver " +             \
                      std::to_string(version) + ")");                                                     \
        api.name = reinterpret_cast<decltype(api.name)>(fn);                                              \
    }
    FLASHCORE_DRIVER_FUNCTIONS(FLASHCORE_LOAD)
#undef FLASHCORE_LOAD
    CUresult rc = api.cuInit(0);
    if (rc != CUDA_SUCCESS) {
        const char* name = nullptr;
        api.cuGetErrorName(rc, &name);
        no_driver(std::string("cuInit failed with ") + (name ? name : std::to_string(rc)));
    }
    return api;
}

}  // namespace

const DriverApi& driver_api(const std::string& library) {
    // Loaded once per process; a failure is remembered so every caller gets the same answer.
    static std::once_flag once;
    static DriverApi api;
    static std::string failure;
    std::call_once(once, [&] {
        try {
            api = load(library);
        } catch (const Error& e) {
            failure = e.info().message;
        }
    });
    if (!failure.empty()) {
        ErrorInfo info;
        info.stage = Stage::driver;
        info.code = ErrorCode::no_driver;
        info.message = failure;
        throw Error(std::move(info));
    }
    return api;
}

std::string describe(CUresult rc) {
    const DriverApi& api = driver_api();
    const char* name = nullptr;
    const char* text = nullptr;
    api.cuGetErrorName(rc, &name);
    api.cuGetErrorString(rc, &text);
    return std::string(name ? name : "CUDA_ERROR_" + std::to_string(rc)) + " (" + (text ? text : "no description") + ")";
}

bool is_sticky(CUresult rc) {
    switch (rc) {
        case CUDA_ERROR_ILLEGAL_ADDRESS:
        case CUDA_ERROR_LAUNCH_TIMEOUT:
        case CUDA_ERROR_ASSERT:
        case CUDA_ERROR_HARDWARE_STACK_ERROR:
        case CUDA_ERROR_ILLEGAL_INSTRUCTION:
        case CUDA_ERROR_MISALIGNED_ADDRESS:
        case CUDA_ERROR_INVALID_ADDRESS_SPACE:
        case CUDA_ERROR_INVALID_PC:
        case CUDA_ERROR_LAUNCH_FAILED:
            return true;
        default:
            return false;
    }
}

}  // namespace flashcore::detail
