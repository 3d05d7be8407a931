#include "flashcore/toolkit.hpp"

#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/nvrtc_api.hpp"
#include "flashcore/error.hpp"
#include "flashcore/hash.hpp"

namespace flashcore {

namespace fs = std::filesystem;

namespace {

// The folder that holds the libnvrtc we opened, e.g. /usr/local/cuda/lib64.
std::string nvrtc_library_dir(const detail::NvrtcApi& nvrtc) {
    Dl_info info{};
    if (dladdr(reinterpret_cast<void*>(nvrtc.nvrtcVersion), &info) == 0 || info.dli_fname == nullptr) return {};
    std::error_code ec;
    fs::path lib = fs::canonical(info.dli_fname, ec);
    return ec ? std::string() : lib.parent_path().string();
}

}  // namespace

Toolkit::Toolkit(const Toolkit& other)
    : include_dirs_(other.include_dirs_),
      nvrtc_version_(other.nvrtc_version_),
      supported_sms_(other.supported_sms_),
      unavailable_reason_(other.unavailable_reason_),
      recorded_(other.recorded_) {
    std::lock_guard<std::mutex> lock(other.mutex_);
    digests_ = other.digests_;
}

Toolkit Toolkit::recorded(const ToolkitFacts& facts, const std::string& why_no_compiler) {
    Toolkit toolkit;
    toolkit.nvrtc_version_ = facts.nvrtc_version;
    toolkit.digests_ = facts.header_digests;
    toolkit.recorded_ = true;
    toolkit.unavailable_reason_ = (why_no_compiler.empty() ? std::string("no NVRTC here") : why_no_compiler) +
                                  "; keys follow the cache's record of NVRTC " + facts.nvrtc_version;
    return toolkit;
}

ToolkitFacts Toolkit::facts(const std::vector<std::string>& headers) const {
    ToolkitFacts out;
    out.nvrtc_version = nvrtc_version_;
    for (const auto& name : headers) out.header_digests[name] = header_digest(name);
    return out;
}

Toolkit Toolkit::locate(const std::string& cuda_home, const std::string& nvrtc_library) {
    std::string why;
    const detail::NvrtcApi* nvrtc = detail::nvrtc_api(nvrtc_library, &why);
    if (!nvrtc) {
        Toolkit offline;
        offline.unavailable_reason_ = "NVRTC cannot be opened (" + why + ")";
        return offline;
    }
    std::vector<std::string> candidates;
    if (!cuda_home.empty()) candidates.push_back(cuda_home + "/include");
    for (const char* var : {"CUDA_HOME", "CUDA_PATH"})
        if (const char* v = std::getenv(var); v && *v) candidates.push_back(std::string(v) + "/include");
    if (std::string lib = nvrtc_library_dir(*nvrtc); !lib.empty()) {
        candidates.push_back(lib + "/../include");
        candidates.push_back(lib + "/../../include");          // targets/<arch>/lib layouts
        candidates.push_back(lib + "/../../../include");
    }
    candidates.push_back("/usr/local/cuda/include");

    Toolkit toolkit;
    std::string tried;
    for (const auto& dir : candidates) {
        std::error_code ec;
        if (!fs::exists(fs::path(dir) / "cuda_fp16.h", ec)) {
            tried += (tried.empty() ? "" : ", ") + dir;
            continue;
        }
        std::string resolved = fs::canonical(dir, ec).string();
        toolkit.include_dirs_.push_back(resolved);
        // Cooperative groups and libcu++ live under include/cccl in CUDA 13.
        if (fs::is_directory(fs::path(resolved) / "cccl", ec)) toolkit.include_dirs_.push_back(resolved + "/cccl");
        break;
    }
    if (toolkit.include_dirs_.empty())
        fail(Stage::compile, ErrorCode::compile_failed,
             "cannot find the CUDA toolkit headers NVRTC needs (cuda_fp16.h); tried: " + tried +
                 ". Set CUDA_HOME to the toolkit folder (the one holding include/)");

    int major = 0, minor = 0;
    if (nvrtcResult rc = nvrtc->nvrtcVersion(&major, &minor); rc != NVRTC_SUCCESS)
        fail(Stage::compile, ErrorCode::no_compiler,
             "nvrtcVersion failed in " + nvrtc->library + ": " + nvrtc->nvrtcGetErrorString(rc));
    toolkit.nvrtc_version_ = std::to_string(major) + "." + std::to_string(minor);
    int count = 0;
    if (nvrtc->nvrtcGetNumSupportedArchs(&count) == NVRTC_SUCCESS && count > 0) {
        toolkit.supported_sms_.resize(count);
        if (nvrtc->nvrtcGetSupportedArchs(toolkit.supported_sms_.data()) != NVRTC_SUCCESS) toolkit.supported_sms_.clear();
    }
    return toolkit;
}

std::string Toolkit::header_digest(const std::string& name) const {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        auto it = digests_.find(name);
        if (it != digests_.end()) return it->second;
        if (recorded_) return {};
    }
    std::string digest;
    for (const auto& dir : include_dirs_) {
        std::ifstream in(fs::path(dir) / name, std::ios::binary);
        if (!in) continue;
        std::ostringstream text;
        text << in.rdbuf();
        digest = xxh3_128_hex(text.str());
        break;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    digests_[name] = digest;
    return digest;
}

}  // namespace flashcore
