// flock(2) on a file, held for the object's lifetime. Locks belong to the open file, so two
// FileLocks on one path conflict even inside one process, and a dead process's locks vanish.
#pragma once

#include <filesystem>
#include <optional>

#include "embedded/unique_fd.hpp"

namespace plinth::embedded {

class FileLock {
public:
    enum class Mode { shared, exclusive };

    // Creates the file if needed and blocks until the lock is granted.
    FileLock(const std::filesystem::path& file, Mode mode);
    // nullopt when someone else holds a conflicting lock.
    static std::optional<FileLock> try_lock(const std::filesystem::path& file, Mode mode);

    FileLock(FileLock&&) noexcept = default;
    FileLock& operator=(FileLock&&) noexcept = default;

    // The descriptor the lock is held through, for a child process that is to hold it too.
    int native_handle() const noexcept { return fd_.get(); }

private:
    FileLock() = default;
    // Returns false when non_blocking and the lock is taken.
    bool acquire(const std::filesystem::path& file, Mode mode, bool non_blocking);

    UniqueFd fd_;
};

}  // namespace plinth::embedded
