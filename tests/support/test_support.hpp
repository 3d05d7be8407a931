// Helpers shared by the test binaries: scratch folders, configs pointing at them, and the
// GPU-availability gate.
#pragma once

#include <catch2/catch.hpp>

#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>

#include "flashcore/cache_key.hpp"
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

// Runs `body` in a child process that can read but not write `dir` (files the test made):
// as root, the child drops to uid/gid 65534 (chmod would not stop root); otherwise `dir` is
// made read-only for the child's run. Returns the child's exit code (body's return value), or
// -1 with `skip_reason` set when neither works here. The child must report through the code.
int run_read_only(const std::string& dir, const std::function<int()>& body, std::string* skip_reason);

// A redis-server of its own on 127.0.0.1 and a free port, for the remote-tier tests; killed
// when the object dies. `available()` is false (with the reason) when redis-server is not
// installed; the tests then skip.
class RedisServer {
public:
    static bool available(std::string* why);
    RedisServer();
    ~RedisServer();
    RedisServer(const RedisServer&) = delete;
    RedisServer& operator=(const RedisServer&) = delete;
    void start();               // on the same port as before (a fresh, empty server)
    void kill();                // SIGKILL, as an outage
    void pause(bool stopped);   // SIGSTOP / SIGCONT: a server that hangs
    int port() const { return port_; }
    // "redis://127.0.0.1:<port>/0?<options>"
    std::string url(const std::string& options = "timeout_ms=300&retry_ms=200") const;

private:
    int port_ = 0;
    int pid_ = -1;
};

// A cache entry of the toy template with a `cubin_bytes` patterned cubin, its log, resources and
// a warning, for cache tests that never load it.
CacheEntry fake_cache_entry(const std::string& variant, std::size_t cubin_bytes = 4096);

// The test template folder (tests/templates) and the source template folder.
std::string test_template_dir();
std::string source_template_dir();
std::string cli_path();

}  // namespace flashcore::test
