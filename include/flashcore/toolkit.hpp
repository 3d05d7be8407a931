// The CUDA toolkit as NVRTC needs it at run time: include directories (NVRTC finds no
// headers by itself), the NVRTC version and the architectures it can target.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace flashcore {

class Toolkit {
public:
    // Looks for the toolkit's include folder in `cuda_home` (if given), $CUDA_HOME, $CUDA_PATH,
    // next to the loaded libnvrtc, then /usr/local/cuda. Throws Error(compile) if none has
    // cuda_fp16.h, saying which folders were tried and to set CUDA_HOME.
    static Toolkit locate(const std::string& cuda_home = {});

    const std::vector<std::string>& include_dirs() const { return include_dirs_; }
    const std::string& nvrtc_version() const { return nvrtc_version_; }  // "13.0"
    const std::vector<int>& supported_sms() const { return supported_sms_; }

    // Content digest of a toolkit header as found on the include path ("" if not found).
    // Cached per process; thread-safe.
    std::string header_digest(const std::string& name) const;

    Toolkit(const Toolkit& other);
    Toolkit& operator=(const Toolkit&) = delete;

private:
    Toolkit() = default;
    std::vector<std::string> include_dirs_;
    std::string nvrtc_version_;
    std::vector<int> supported_sms_;
    mutable std::mutex mutex_;
    mutable std::map<std::string, std::string> digests_;
};

}  // namespace flashcore
