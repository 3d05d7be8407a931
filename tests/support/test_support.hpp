// Helpers shared by the test binaries: scratch folders, configs pointing at them, and the
// GPU-availability gate.
#pragma once

#include <filesystem>
#include <string>

#include "flashcore/config.hpp"

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

// The test template folder (tests/templates) and the source template folder.
std::string test_template_dir();
std::string source_template_dir();
std::string cli_path();

}  // namespace flashcore::test
