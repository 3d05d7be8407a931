#include "test_support.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>

namespace flashcore::test {

namespace fs = std::filesystem;

TempDir::TempDir(const std::string& label) {
    static std::atomic<int> counter{0};
    auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
    path_ = fs::temp_directory_path() /
            (label + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" + std::to_string(stamp));
    fs::create_directories(path_);
}

TempDir::~TempDir() {
    std::error_code ec;
    // Restore permissions first: tests make folders read-only on purpose.
    for (auto it = fs::recursive_directory_iterator(path_, ec); it != fs::recursive_directory_iterator(); it.increment(ec))
        fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ec);
    fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(path_, ec);
}

Config test_config(const std::string& cache_dir) {
    Config config;
    config.cache_dir = cache_dir;
    config.log_level = "error";
    config.lock_timeout = std::chrono::seconds(60);
    return config;
}

DeviceInfo fake_h100() {
    DeviceInfo d;
    d.name = "Fake H100";
    d.sm = 90;
    d.num_sms = 132;
    d.smem_per_block_optin = 232448;
    return d;
}

Config toy_config(const std::string& cache_dir) {
    Config c = test_config(cache_dir);
    c.template_dirs = {test_template_dir()};
    return c;
}

std::string test_template_dir() { return FLASHCORE_TEST_TEMPLATE_DIR; }
std::string source_template_dir() { return FLASHCORE_SOURCE_TEMPLATE_DIR; }
std::string cli_path() { return FLASHCORE_CLI_PATH; }

}  // namespace flashcore::test
