#include "core/fs_util.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace flashcore::detail {

std::string write_file_synced(const std::string& path, const std::string& data) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return "cannot create " + path + ": " + std::strerror(errno);
    size_t done = 0;
    while (done < data.size()) {
        ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            std::string why = "cannot write " + path + ": " + std::strerror(errno);
            ::close(fd);
            return why;
        }
        done += static_cast<size_t>(n);
    }
    if (::fsync(fd) != 0) {
        std::string why = "cannot fsync " + path + ": " + std::strerror(errno);
        ::close(fd);
        return why;
    }
    if (::close(fd) != 0) return "cannot close " + path + ": " + std::strerror(errno);
    return {};
}

std::string sync_directory(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return "cannot open directory " + path + ": " + std::strerror(errno);
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    return rc == 0 ? std::string() : "cannot fsync directory " + path + ": " + std::strerror(err);
}

std::optional<std::string> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream out;
    out << in.rdbuf();
    if (in.bad()) return std::nullopt;
    return out.str();
}

std::string replace_file(const std::string& path, const std::string& data) {
    std::string tmp = path + ".tmp." + std::to_string(::getpid());
    ::unlink(tmp.c_str());
    if (std::string why = write_file_synced(tmp, data); !why.empty()) {
        ::unlink(tmp.c_str());
        return why;
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        std::string why = "cannot rename " + tmp + ": " + std::strerror(errno);
        ::unlink(tmp.c_str());
        return why;
    }
    return {};
}

}  // namespace flashcore::detail
