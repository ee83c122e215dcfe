// Child processes without a shell: fork + exec with an argv vector, optionally as another system
// user (PostgreSQL refuses to run as root), with stdout and stderr captured.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

#include "embedded/file_lock.hpp"

namespace plinth::embedded {

// A system user a child switches to (setgroups, setgid, setuid) before exec.
struct RunAs {
    std::string name;
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<gid_t> groups;

    // Throws std::runtime_error when there is no such user.
    static RunAs lookup(const std::string& name);
};

// "postgres (uid 101)", or "uid 1234" for a uid without a passwd entry.
std::string describe_user(uid_t uid);

struct ProcessResult {
    int status = 0;  // exit code, or 128 + signal number
    std::string out;
    std::string err;
};

// Runs argv (argv[0] is a path or a name looked up in PATH) with stdin from /dev/null and the
// working directory "/". Throws std::system_error when the program cannot be started (ENOENT when
// it does not exist); a non-zero exit is reported in the result, not thrown.
//
// The child is killed (SIGKILL) if the calling thread dies first, e.g. when plinth is killed: no
// initdb or pg_ctl runs on unsupervised. With inherited_lock, the child and everything it starts
// hold that lock too, so it is free again only once all of them have exited.
ProcessResult run_process(const std::vector<std::string>& argv, const RunAs* as = nullptr,
                          const FileLock* inherited_lock = nullptr);

// Index of the first path that user `as` cannot access with `mode` (access(2) bits), nullopt when
// every path is accessible. Checked in a child running as that user, so ACLs count too.
std::optional<std::size_t> first_inaccessible(const RunAs& as,
                                              const std::vector<std::filesystem::path>& paths,
                                              int mode);

}  // namespace plinth::embedded
