// The CUDA toolkit as NVRTC needs it at run time: include directories (NVRTC finds no
// headers by itself), the NVRTC version and the architectures it can target.
//
// NVRTC is opened at run time. Without it the toolkit is "recorded": the NVRTC version and the
// toolkit-header digests that go into cache keys come from the facts a compiling host wrote
// beside its cache entries (ToolkitFacts), so a host that never compiles finds its kernels.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace flashcore {

// What of a toolkit a cache key depends on: its NVRTC version and the content digests of the
// toolkit headers the templates include.
struct ToolkitFacts {
    std::string nvrtc_version;
    std::map<std::string, std::string> header_digests;  // header name -> digest
};

class Toolkit {
public:
    // Opens NVRTC (`nvrtc_library`, "" = the default search) and looks for the toolkit's
    // include folder in `cuda_home` (if given), $CUDA_HOME, $CUDA_PATH, next to the loaded
    // libnvrtc, then /usr/local/cuda. Throws Error(compile) if NVRTC is there but no folder has
    // cuda_fp16.h, saying which folders were tried and to set CUDA_HOME. Without NVRTC it
    // returns a toolkit that cannot compile (compiler_available() false), never throws.
    static Toolkit locate(const std::string& cuda_home = {}, const std::string& nvrtc_library = {});
    // A toolkit known only by recorded facts: keys as that toolkit's, no compiling
    // (`why_no_compiler`: why this host cannot compile, for its messages).
    static Toolkit recorded(const ToolkitFacts& facts, const std::string& why_no_compiler = {});

    bool compiler_available() const { return unavailable_reason_.empty(); }
    // Why this toolkit cannot compile ("" when it can).
    const std::string& unavailable_reason() const { return unavailable_reason_; }

    const std::vector<std::string>& include_dirs() const { return include_dirs_; }
    const std::string& nvrtc_version() const { return nvrtc_version_; }  // "13.0"; "" when unknown
    const std::vector<int>& supported_sms() const { return supported_sms_; }

    // Content digest of a toolkit header as found on the include path ("" if not found).
    // Cached per process; thread-safe.
    std::string header_digest(const std::string& name) const;
    // The facts of this toolkit for the given headers (for the cache's record of it).
    ToolkitFacts facts(const std::vector<std::string>& headers) const;

    Toolkit(const Toolkit& other);
    Toolkit& operator=(const Toolkit&) = delete;

private:
    Toolkit() = default;
    std::vector<std::string> include_dirs_;
    std::string nvrtc_version_;
    std::vector<int> supported_sms_;
    std::string unavailable_reason_;
    bool recorded_ = false;  // digests_ is the whole truth: nothing is read from disk
    mutable std::mutex mutex_;
    mutable std::map<std::string, std::string> digests_;
};

}  // namespace flashcore
