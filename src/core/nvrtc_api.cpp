#include "core/nvrtc_api.hpp"

#include <cuda.h>
#include <dlfcn.h>

#include <cstdlib>
#include <mutex>
#include <vector>

namespace flashcore::detail {

namespace {

std::vector<std::string> candidates(const std::string& library) {
    if (!library.empty()) return {library};
    // The ABI is stable within a major version: the one these headers came from.
    const std::string soname = "libnvrtc.so." + std::to_string(CUDA_VERSION / 1000);
    std::vector<std::string> out = {soname};
    for (const char* var : {"CUDA_HOME", "CUDA_PATH"})
        if (const char* v = std::getenv(var); v && *v) out.push_back(std::string(v) + "/lib64/" + soname);
    out.push_back("/usr/local/cuda/lib64/" + soname);
#ifdef FLASHCORE_BUILD_NVRTC_DIR
    out.push_back(std::string(FLASHCORE_BUILD_NVRTC_DIR) + "/" + soname);  // where the build found the toolkit
#endif
    return out;
}

NvrtcApi load(const std::string& library, std::string& why) {
    NvrtcApi api;
    void* handle = nullptr;
    for (const auto& path : candidates(library)) {
        handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (handle) {
            api.library = path;
            break;
        }
        const char* error = dlerror();
        why += (why.empty() ? "" : "; ") + std::string(error ? error : "cannot open " + path);
    }
    if (!handle) return api;
    why.clear();
#define FLASHCORE_NVRTC_RESOLVE(name)                                                  \
    api.name = reinterpret_cast<decltype(api.name)>(dlsym(handle, #name));             \
    if (!api.name) {                                                                   \
        why = api.library + " has no " #name " (an NVRTC older than these headers?)";  \
        return NvrtcApi{};                                                             \
    }
    FLASHCORE_NVRTC_FUNCTIONS(FLASHCORE_NVRTC_RESOLVE)
#undef FLASHCORE_NVRTC_RESOLVE
    return api;
}

}  // namespace

const NvrtcApi* nvrtc_api(const std::string& library, std::string* why) {
    static std::once_flag once;
    static NvrtcApi api;
    static std::string failure;
    std::call_once(once, [&] { api = load(library, failure); });
    if (!failure.empty() || !api.nvrtcCompileProgram) {
        if (why) *why = failure;
        return nullptr;
    }
    return &api;
}

}  // namespace flashcore::detail
