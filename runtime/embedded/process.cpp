#include "embedded/process.hpp"

#include <cerrno>
#include <cstdlib>
#include <stdexcept>
#include <system_error>

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "embedded/unique_fd.hpp"

namespace plinth::embedded {

namespace {

struct Pipe {
    UniqueFd read;
    UniqueFd write;
};

Pipe make_pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
        throw std::system_error(errno, std::generic_category(), "pipe2");
    return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// Reaps the child on every path; one that is still running when we unwind is killed first.
class Child {
public:
    explicit Child(pid_t pid) noexcept : pid_(pid) {}
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;
    ~Child() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGKILL);
        wait();
    }

    int wait() noexcept {
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
        pid_ = -1;
        return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
    }

private:
    pid_t pid_;
};

std::string find_in_path(const std::string& name) {
    const char* env = std::getenv("PATH");
    const std::string path = env ? env : "/usr/local/bin:/usr/bin:/bin";
    std::size_t start = 0;
    while (start <= path.size()) {
        auto end = path.find(':', start);
        if (end == std::string::npos) end = path.size();
        const std::string dir = end == start ? "." : path.substr(start, end - start);
        const std::string candidate = dir + "/" + name;
        std::error_code ec;
        if (::access(candidate.c_str(), X_OK) == 0 && std::filesystem::is_regular_file(candidate, ec))
            return candidate;
        start = end + 1;
    }
    throw std::system_error(ENOENT, std::generic_category(),
                            "could not run " + name + ": not found in PATH");
}

// Between fork and exec only async-signal-safe calls: everything is prepared before fork.
// Returns errno on failure, 0 on success.
int switch_user(const RunAs* as) {
    if (as && (::setgroups(as->groups.size(), as->groups.data()) != 0 ||
               ::setgid(as->gid) != 0 || ::setuid(as->uid) != 0))
        return errno;
    return 0;
}

}  // namespace

RunAs RunAs::lookup(const std::string& name) {
    std::vector<char> buffer(16384);
    passwd pw{};
    passwd* found = nullptr;
    if (::getpwnam_r(name.c_str(), &pw, buffer.data(), buffer.size(), &found) != 0 || !found)
        throw std::runtime_error("there is no system user '" + name + "'");
    RunAs as{name, pw.pw_uid, pw.pw_gid, {}};
    int count = 16;
    for (;;) {
        as.groups.resize(static_cast<std::size_t>(count));
        const int wanted = count;
        if (::getgrouplist(name.c_str(), pw.pw_gid, as.groups.data(), &count) >= 0) break;
        if (count <= wanted) count = wanted * 2;
    }
    as.groups.resize(static_cast<std::size_t>(count));
    return as;
}

std::string describe_user(uid_t uid) {
    std::vector<char> buffer(16384);
    passwd pw{};
    passwd* found = nullptr;
    if (::getpwuid_r(uid, &pw, buffer.data(), buffer.size(), &found) == 0 && found)
        return std::string(found->pw_name) + " (uid " + std::to_string(uid) + ")";
    return "uid " + std::to_string(uid);
}

ProcessResult run_process(const std::vector<std::string>& argv, const RunAs* as,
                          const FileLock* inherited_lock) {
    if (argv.empty()) throw std::invalid_argument("run_process: empty argv");
    const std::string program =
        argv[0].find('/') == std::string::npos ? find_in_path(argv[0]) : argv[0];
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);

    Pipe out = make_pipe();
    Pipe err = make_pipe();
    Pipe report = make_pipe();  // carries errno if the child cannot exec; closed by a good exec
    UniqueFd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!devnull) throw std::system_error(errno, std::generic_category(), "open /dev/null");
    sigset_t no_signals;
    sigemptyset(&no_signals);
    const int lock_fd = inherited_lock ? inherited_lock->native_handle() : -1;
    const pid_t parent = ::getpid();

    const pid_t pid = ::fork();
    if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork");
    if (pid == 0) {
        ::dup2(devnull.get(), STDIN_FILENO);
        ::dup2(out.write.get(), STDOUT_FILENO);
        ::dup2(err.write.get(), STDERR_FILENO);
        // Descriptors someone opened without O_CLOEXEC must not end up in a long-lived server.
        ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
        if (lock_fd >= 0) ::fcntl(lock_fd, F_SETFD, 0);
        // The caller may block signals to sigwait() for them; the child must not inherit that.
        ::sigprocmask(SIG_SETMASK, &no_signals, nullptr);
        int e = switch_user(as);
        // Killed with plinth (see process.hpp); set after switch_user, which clears the setting.
        if (e == 0 && ::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) e = errno;
        if (e == 0 && ::getppid() != parent) ::_exit(127);  // the parent died before prctl
        if (e == 0 && ::chdir("/") != 0) e = errno;
        if (e == 0) {
            ::execv(program.c_str(), args.data());
            e = errno;
        }
        (void)!::write(report.write.get(), &e, sizeof e);
        ::_exit(127);
    }
    Child child(pid);
    out.write.reset();
    err.write.reset();
    report.write.reset();

    int child_errno = 0;
    ssize_t n;
    while ((n = ::read(report.read.get(), &child_errno, sizeof child_errno)) < 0 && errno == EINTR) {
    }
    if (n == static_cast<ssize_t>(sizeof child_errno)) {
        child.wait();
        throw std::system_error(child_errno, std::generic_category(),
                                "could not run " + program + (as ? " as user " + as->name : ""));
    }

    ProcessResult result;
    pollfd fds[2] = {{out.read.get(), POLLIN, 0}, {err.read.get(), POLLIN, 0}};
    std::string* sinks[2] = {&result.out, &result.err};
    int open_fds = 2;
    char buffer[4096];
    while (open_fds > 0) {
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            throw std::system_error(errno, std::generic_category(), "poll");
        }
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || fds[i].revents == 0) continue;
            const ssize_t got = ::read(fds[i].fd, buffer, sizeof buffer);
            if (got > 0) {
                sinks[i]->append(buffer, static_cast<std::size_t>(got));
            } else if (got == 0 || errno != EINTR) {
                fds[i].fd = -1;
                --open_fds;
            }
        }
    }
    result.status = child.wait();
    return result;
}

std::optional<std::size_t> first_inaccessible(const RunAs& as,
                                              const std::vector<std::filesystem::path>& paths,
                                              int mode) {
    const std::size_t count = std::min<std::size_t>(paths.size(), 250);
    const pid_t pid = ::fork();
    if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork");
    if (pid == 0) {
        if (switch_user(&as) != 0) ::_exit(255);
        for (std::size_t i = 0; i < count; ++i)
            if (::access(paths[i].c_str(), mode) != 0) ::_exit(static_cast<int>(i) + 1);
        ::_exit(0);
    }
    const int status = Child(pid).wait();
    if (status == 0) return std::nullopt;
    if (status > static_cast<int>(count))
        throw std::runtime_error("could not check folder access as user " + as.name);
    return static_cast<std::size_t>(status - 1);
}

}  // namespace plinth::embedded
