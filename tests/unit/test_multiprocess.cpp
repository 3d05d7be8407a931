// Cross-process behaviour of the disk cache: several processes asking for one cold key
// compile it once, and a killed lock holder does not hang the others.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "flashcore/disk_cache.hpp"
#include "flashcore/runtime.hpp"
#include "test_support.hpp"

using namespace flashcore;

namespace {

constexpr int kCompiled = 10;
constexpr int kFromDisk = 11;
constexpr int kFailed = 12;

// Child body: build one variant and report where it came from through the exit code.
[[noreturn]] void build_in_child(const std::string& cache_dir, int start_fd) {
    char go;
    if (::read(start_fd, &go, 1) != 1) _exit(kFailed);  // all children start together
    try {
        Config config = test::test_config(cache_dir);
        config.template_dirs = {test::test_template_dir()};
        Runtime rt(config);
        CacheLookup r = rt.build(rt.variant("toy_attention:threads=64,mode=plain"), Target::parse("sm_90"));
        _exit(r.source == CacheSource::compiled ? kCompiled : r.source == CacheSource::disk ? kFromDisk : kFailed);
    } catch (...) {
        _exit(kFailed);
    }
}

}  // namespace

TEST_CASE("N processes asking for one cold key compile it exactly once", "[multiprocess]") {
    test::TempDir dir;
    constexpr int kChildren = 4;
    int pipe_fds[2];
    REQUIRE(::pipe(pipe_fds) == 0);
    std::vector<pid_t> children;
    for (int i = 0; i < kChildren; ++i) {
        pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            ::close(pipe_fds[1]);
            build_in_child(dir.str(), pipe_fds[0]);
        }
        children.push_back(pid);
    }
    ::close(pipe_fds[0]);
    REQUIRE(::write(pipe_fds[1], "gggg", kChildren) == kChildren);
    ::close(pipe_fds[1]);
    int compiled = 0, from_disk = 0;
    for (pid_t pid : children) {
        int status = 0;
        REQUIRE(::waitpid(pid, &status, 0) == pid);
        REQUIRE(WIFEXITED(status));
        int code = WEXITSTATUS(status);
        if (code == kCompiled) ++compiled;
        else if (code == kFromDisk) ++from_disk;
        else FAIL("child failed with exit code " << code);
    }
    CHECK(compiled == 1);
    CHECK(from_disk == kChildren - 1);
}

TEST_CASE("a killed lock holder does not hang the others", "[multiprocess]") {
    test::TempDir dir;
    const std::string key = "0123456789abcdef0123456789abcdef";
    int ready[2];
    REQUIRE(::pipe(ready) == 0);
    pid_t holder = ::fork();
    REQUIRE(holder >= 0);
    if (holder == 0) {
        DiskCache disk(dir.str(), 1ull << 30);
        DiskCache::KeyLock lock = disk.lock(key, std::chrono::seconds(5));
        if (!lock.held()) _exit(1);
        (void)!::write(ready[1], "x", 1);
        for (;;) ::pause();  // hold the lock until killed
    }
    char c;
    REQUIRE(::read(ready[0], &c, 1) == 1);
    DiskCache disk(dir.str(), 1ull << 30);
    // While the holder lives, the lock is taken...
    auto start = std::chrono::steady_clock::now();
    CHECK_FALSE(disk.lock(key, std::chrono::milliseconds(100)).held());
    CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(100));
    // ...and once it is killed mid-compile, the next process gets it at once.
    REQUIRE(::kill(holder, SIGKILL) == 0);
    int status = 0;
    REQUIRE(::waitpid(holder, &status, 0) == holder);
    start = std::chrono::steady_clock::now();
    CHECK(disk.lock(key, std::chrono::seconds(10)).held());
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(1));
    ::close(ready[0]);
    ::close(ready[1]);
}
