#include "test_support.hpp"

#include <arpa/inet.h>
#include <grp.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <thread>
#include <cstdio>
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

int run_read_only(const std::string& dir, const std::function<int()>& body, std::string* skip_reason) {
    const bool root = ::geteuid() == 0;
    if (!root) {
        std::error_code ec;
        for (auto it = fs::recursive_directory_iterator(dir, ec); it != fs::recursive_directory_iterator(); it.increment(ec))
            if (it->is_directory()) fs::permissions(it->path(), fs::perms::owner_write, fs::perm_options::remove, ec);
        fs::permissions(dir, fs::perms::owner_write, fs::perm_options::remove, ec);
    }
    pid_t pid = ::fork();
    if (pid < 0) {
        *skip_reason = "fork failed";
        return -1;
    }
    if (pid == 0) {
        if (root && (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0)) _exit(125);
        int rc = 124;
        try {
            rc = body();
        } catch (const std::exception& e) {
            std::fprintf(stderr, "read-only child threw: %s\n", e.what());
        }
        _exit(rc);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!root) {
        std::error_code ec;
        fs::permissions(dir, fs::perms::owner_write, fs::perm_options::add, ec);
        for (auto it = fs::recursive_directory_iterator(dir, ec); it != fs::recursive_directory_iterator(); it.increment(ec))
            if (it->is_directory()) fs::permissions(it->path(), fs::perms::owner_write, fs::perm_options::add, ec);
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 125) {
        *skip_reason = "cannot drop to uid 65534 here (no setuid permission)";
        return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

bool RedisServer::available(std::string* why) {
    if (std::system("command -v redis-server >/dev/null 2>&1") == 0) return true;
    *why = "redis-server is not installed (cmake/install_deps.sh installs it)";
    return false;
}

namespace {
int free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    int port = 0;
    if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
        port = ntohs(addr.sin_port);
    if (fd >= 0) ::close(fd);
    return port;
}

bool accepts(int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    bool ok = fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    if (fd >= 0) ::close(fd);
    return ok;
}
}  // namespace

RedisServer::RedisServer() : port_(free_port()) { start(); }

RedisServer::~RedisServer() { kill(); }

void RedisServer::start() {
    kill();
    pid_t pid = ::fork();
    if (pid == 0) {
        std::string port = std::to_string(port_);
        std::freopen("/dev/null", "w", stdout);
        ::execlp("redis-server", "redis-server", "--port", port.c_str(), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--protected-mode", "no", "--daemonize", "no", "--loglevel", "warning",
                 static_cast<char*>(nullptr));
        _exit(127);
    }
    pid_ = pid;
    for (int i = 0; i < 250 && !accepts(port_); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (!accepts(port_)) throw std::runtime_error("redis-server did not start on port " + std::to_string(port_));
}

void RedisServer::kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGCONT);
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
}

void RedisServer::pause(bool stopped) {
    if (pid_ > 0) ::kill(pid_, stopped ? SIGSTOP : SIGCONT);
}

std::string RedisServer::url(const std::string& options) const {
    return "redis://127.0.0.1:" + std::to_string(port_) + "/0" + (options.empty() ? "" : "?" + options);
}

std::string test_template_dir() { return FLASHCORE_TEST_TEMPLATE_DIR; }
std::string source_template_dir() { return FLASHCORE_SOURCE_TEMPLATE_DIR; }
std::string cli_path() { return FLASHCORE_CLI_PATH; }

CacheEntry fake_cache_entry(const std::string& variant, std::size_t cubin_bytes) {
    CacheEntry e;
    e.components.template_id = "toy_attention";
    e.components.content_digest = "content";
    e.components.variant = variant;
    e.components.options = "opts";
    e.components.arch = "sm_90";
    e.components.nvrtc_version = "13.0";
    e.key = e.components.key();
    e.compiled.cubin = std::string(cubin_bytes, '\0');
    for (std::size_t i = 0; i < cubin_bytes; ++i) e.compiled.cubin[i] = static_cast<char>((i * 131 + variant.size()) & 0xff);
    e.compiled.log = "ptxas info : Used 10 registers";
    e.compiled.lowered_name = "_Z1kv";
    e.compiled.resources.registers = 10;
    e.compiled.resources.parsed = true;
    e.compiled.warnings = {"warning: something"};
    e.compiled.compile_ms = 12.5;
    e.created_unix_ms = 1000;
    return e;
}

}  // namespace flashcore::test
