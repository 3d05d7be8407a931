// Helpers shared by the test binaries: scratch folders, configs pointing at them, and the
// GPU-availability gate.
#pragma once

#include <catch2/catch.hpp>

#include <filesystem>
#include <stdexcept>
#include <string>

#include "flashcore/config.hpp"
#include "flashcore/device_info.hpp"
#include "flashcore/error.hpp"

namespace flashcore::test {

// A fresh folder under the system temp dir, removed when the object dies.
class TempDir {
public:
    explicit TempDir(const std::string& label = "flashcore-test");
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return path_; }
    std::string str() const { return path_.string(); }

private:
    std::filesystem::path path_;
};

// A config whose cache lives in `cache_dir` and which ignores the caller's environment.
Config test_config(const std::string& cache_dir);
// The same with tests/templates (toy_attention, local_wmma, tma_copy) before the embedded ones.
Config toy_config(const std::string& cache_dir);

// Device facts of an H100 (sm_90, 132 SMs, 227 KB opt-in shared memory), for tests without one.
DeviceInfo fake_h100();

// The flashcore::Error `body` throws; fails the test when it throws none.
template <class Body>
Error error_from(Body&& body) {
    try {
        body();
    } catch (const Error& e) {
        return e;
    }
    FAIL("expected a flashcore::Error");
    throw std::logic_error("unreachable");  // FAIL throws
}

// The test template folder (tests/templates) and the source template folder.
std::string test_template_dir();
std::string source_template_dir();
std::string cli_path();

}  // namespace flashcore::test
