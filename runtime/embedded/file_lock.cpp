#include "embedded/file_lock.hpp"

#include <cerrno>
#include <system_error>

#include <fcntl.h>
#include <sys/file.h>

namespace plinth::embedded {

FileLock::FileLock(const std::filesystem::path& file, Mode mode) { acquire(file, mode, false); }

std::optional<FileLock> FileLock::try_lock(const std::filesystem::path& file, Mode mode) {
    FileLock lock;
    if (!lock.acquire(file, mode, true)) return std::nullopt;
    return lock;
}

bool FileLock::acquire(const std::filesystem::path& file, Mode mode, bool non_blocking) {
    // O_CLOEXEC: a server we start must not inherit (and so keep holding) our locks.
    fd_.reset(::open(file.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0644));
    if (!fd_)
        throw std::system_error(errno, std::generic_category(), "could not open " + file.string());
    const int op = (mode == Mode::shared ? LOCK_SH : LOCK_EX) | (non_blocking ? LOCK_NB : 0);
    while (::flock(fd_.get(), op) != 0) {
        if (errno == EINTR) continue;
        if (non_blocking && errno == EWOULDBLOCK) return false;
        throw std::system_error(errno, std::generic_category(), "could not lock " + file.string());
    }
    return true;
}

}  // namespace plinth::embedded
