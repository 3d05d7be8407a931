#include "tools/child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace flashcore::detail {

namespace {
constexpr size_t kTailBytes = 64 * 1024;

void keep_tail(std::string& text) {
    if (text.size() > kTailBytes) text.erase(0, text.size() - kTailBytes);
}

void close_pair(int (&fds)[2]) {
    for (int& fd : fds)
        if (fd >= 0) ::close(fd), fd = -1;
}

// Writes what the pipe takes now. A child that exits without reading its input must not kill
// this process with SIGPIPE: the signal is blocked for this thread during the write and a
// pending one is taken back (the host's own SIGPIPE handling is left alone). Returns false
// once the pipe is finished with (all written, or the reader is gone).
bool write_some(int fd, const std::string& input, size_t& written) {
    sigset_t pipe_only, previous;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_only, &previous);
    ssize_t n = ::write(fd, input.data() + written, input.size() - written);
    int err = errno;
    if (n < 0 && err == EPIPE) {
        timespec none{0, 0};
        sigtimedwait(&pipe_only, nullptr, &none);
    }
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    if (n > 0) written += static_cast<size_t>(n);
    if (n < 0 && (err == EAGAIN || err == EINTR)) return true;
    return n >= 0 && written < input.size();
}

// This process's environment with `overrides` set: built here, before the child exists, so no
// allocation or setenv runs between fork and exec in a multithreaded process.
std::vector<std::string> child_environment(const std::map<std::string, std::string>& overrides) {
    std::vector<std::string> out;
    for (char** e = environ; e && *e; ++e) {
        std::string entry(*e);
        std::string name = entry.substr(0, entry.find('='));
        if (!overrides.count(name)) out.push_back(std::move(entry));
    }
    for (const auto& [k, v] : overrides) out.push_back(k + "=" + v);
    return out;
}

// posix_spawnp with stdin/stdout/stderr on the given pipe ends, in a process group of its own
// (a timeout kills it and anything it started), an empty signal mask and SIGPIPE at its
// default (a host that ignores it must not pass that on). Returns 0 or the errno of the failure (exec failures included).
int spawn(std::vector<char*>& argv, std::vector<std::string> environment, int stdin_fd, int stdout_fd, int stderr_fd,
          pid_t& pid) {
    std::vector<char*> envp;
    for (auto& e : environment) envp.push_back(e.data());
    envp.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    if (int err = posix_spawn_file_actions_init(&actions)) return err;
    if (int err = posix_spawnattr_init(&attr)) {
        posix_spawn_file_actions_destroy(&actions);
        return err;
    }
    // dup2 clears close-on-exec on the copies; the originals (O_CLOEXEC) close at exec.
    int err = posix_spawn_file_actions_adddup2(&actions, stdin_fd, STDIN_FILENO);
    if (!err) err = posix_spawn_file_actions_adddup2(&actions, stdout_fd, STDOUT_FILENO);
    if (!err) err = posix_spawn_file_actions_adddup2(&actions, stderr_fd, STDERR_FILENO);
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    if (!err) err = posix_spawnattr_setpgroup(&attr, 0);
    if (!err) err = posix_spawnattr_setsigmask(&attr, &none);
    if (!err) err = posix_spawnattr_setsigdefault(&attr, &defaults);
    if (!err)
        err = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    if (!err) err = posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(), envp.data());
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&actions);
    return err;
}

}  // namespace

ChildOutcome run_child(const std::vector<std::string>& argv_in, const std::map<std::string, std::string>& env,
                       std::chrono::milliseconds timeout, const std::function<void(const std::string&)>& on_line,
                       const std::string& input) {
    ChildOutcome outcome;
    auto start = std::chrono::steady_clock::now();
    std::vector<std::string> argv_strings = argv_in;
    std::vector<char*> argv;
    for (auto& s : argv_strings) argv.push_back(s.data());
    argv.push_back(nullptr);

    int in_pipe[2] = {-1, -1}, out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
    auto spawn_failed = [&](const std::string& why) {
        close_pair(in_pipe), close_pair(out_pipe), close_pair(err_pipe);
        outcome.spawn_failed = true;
        outcome.stderr_tail = why + ": " + std::strerror(errno);
        return outcome;
    };
    if (argv_strings.empty()) return spawn_failed("no program to run");
    if (::pipe2(in_pipe, O_CLOEXEC) != 0 || ::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0)
        return spawn_failed("cannot create a pipe");
    pid_t pid = -1;
    if (int err = spawn(argv, child_environment(env), in_pipe[0], out_pipe[1], err_pipe[1], pid); err != 0) {
        errno = err;
        return spawn_failed("cannot run " + argv_strings.front());
    }
    ::close(in_pipe[0]);
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
    int stdin_fd = in_pipe[1];
    ::fcntl(stdin_fd, F_SETFL, O_NONBLOCK);
    size_t written = 0;
    if (input.empty()) ::close(stdin_fd), stdin_fd = -1;

    std::string pending;  // stdout bytes not yet ended by '\n'
    auto deadline = std::chrono::steady_clock::now() + timeout;
    // [0] stdout, [1] stderr, [2] stdin (fd -1 once done: poll skips it).
    pollfd fds[3] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}, {stdin_fd, POLLOUT, 0}};
    int open_fds = 2;
    char buffer[8192];
    while (open_fds > 0) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            outcome.timed_out = true;
            ::kill(-pid, SIGKILL);
            break;
        }
        int n = ::poll(fds, 3, static_cast<int>(std::min<long long>(left.count(), 1000)));
        if (n < 0 && errno != EINTR) break;
        if (fds[2].fd >= 0 && (fds[2].revents & (POLLOUT | POLLERR | POLLHUP)) &&
            !write_some(fds[2].fd, input, written)) {
            ::close(fds[2].fd);
            fds[2].fd = -1;
        }
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            ssize_t got = ::read(fds[i].fd, buffer, sizeof buffer);
            if (got <= 0) {
                ::close(fds[i].fd);
                fds[i].fd = -1;
                --open_fds;
                continue;
            }
            if (i == 1) {
                outcome.stderr_tail.append(buffer, static_cast<size_t>(got));
                keep_tail(outcome.stderr_tail);
                continue;
            }
            outcome.stdout_tail.append(buffer, static_cast<size_t>(got));
            keep_tail(outcome.stdout_tail);
            pending.append(buffer, static_cast<size_t>(got));
            size_t newline;
            while ((newline = pending.find('\n')) != std::string::npos) {
                std::string line = pending.substr(0, newline);
                pending.erase(0, newline + 1);
                deadline = std::chrono::steady_clock::now() + timeout;
                if (on_line) on_line(line);
            }
        }
    }
    for (auto& f : fds)
        if (f.fd >= 0) ::close(f.fd);
    if (!pending.empty() && on_line && !outcome.timed_out) on_line(pending);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    ::kill(-pid, SIGKILL);  // anything the child left behind in its group
    if (WIFEXITED(status)) outcome.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) outcome.signal = WTERMSIG(status);
    outcome.wall_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    return outcome;
}

}  // namespace flashcore::detail
