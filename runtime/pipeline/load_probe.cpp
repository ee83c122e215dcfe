#include "pipeline/load_probe.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <system_error>
#include <thread>

#include <dlfcn.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "load/elf_check.hpp"
#include "model/text.hpp"
#include "pipeline/huge_heap.hpp"

namespace plinth::pipeline {
namespace {

using Clock = std::chrono::steady_clock;

// What the child is doing: about to run a file's constructors, about to call its entry function
// (and read the descriptor), or done with it; done carries the descriptor's digest, when there is
// one. Fixed size, below PIPE_BUF: each write arrives whole.
struct Record {
    enum Phase : std::uint32_t { constructors, entry, done };
    std::uint32_t index;
    Phase phase;
    std::uint32_t has_digest;
    std::uint32_t unused;  // no padding byte goes into the pipe unwritten
    std::uint64_t digest;
};

const char* phase_text(Record::Phase phase) {
    return phase == Record::constructors ? "its library constructors"
                                         : PLINTH_ENTRY_SYMBOL " or the descriptor it returned";
}

std::string signal_text(int sig) {
    const char* abbreviation = ::sigabbrev_np(sig);
    const char* description = ::sigdescr_np(sig);
    std::string text = abbreviation ? std::string("SIG") + abbreviation : "signal " + std::to_string(sig);
    if (description) text += std::string(" (") + description + ")";
    return text;
}

int g_record_fd = -1;

void send(std::uint32_t index, Record::Phase phase, std::optional<std::uint64_t> digest = std::nullopt) {
    const Record r{index, phase, digest ? 1u : 0u, 0, digest.value_or(0)};
    while (::write(g_record_fd, &r, sizeof r) < 0 && errno == EINTR) {
    }
}

// A library's exit() in the child ends it at once with its status: no static destructor of
// plinth's and no leak check (sanitized builds) runs in a copy of plinth. Registered last, so run first.
extern "C" void leave_at_once(int status, void*) { ::_exit(status); }

// What load::load_file does, in the same order, up to the descriptor's copy, which it reads as
// load::descriptor_digest. Whatever the loader would refuse with a message is left to it. Returns
// that digest.
std::optional<std::uint64_t> load_once(const std::filesystem::path& file, std::uint32_t index) {
    // One reading of the file serves the check before dlopen and the entry symbol's kind, as in load_file.
    const auto facts = load::inspect_elf_file(file);
    if (facts.problem) return std::nullopt;
    void* library = ::dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);  // never closed: the child ends soon
    if (!library) return std::nullopt;
    send(index, Record::entry);
    void* symbol = ::dlsym(library, PLINTH_ENTRY_SYMBOL);
    if (!symbol || load::check_function_symbol(facts.symbols, PLINTH_ENTRY_SYMBOL)) return std::nullopt;
    const plinth_plugin_descriptor* descriptor = nullptr;
    try {
        descriptor = reinterpret_cast<const plinth_plugin_descriptor* (*)()>(symbol)();
    } catch (...) {
        return std::nullopt;
    }
    if (!descriptor) return std::nullopt;
    // The digest reads every value the copy would, so a descriptor that crashes the copy crashes it
    // here; it builds nothing, so the child does half the work of a load.
    return load::descriptor_digest(*descriptor);
}

[[noreturn]] void child_main(const std::vector<std::filesystem::path>& files, std::size_t first, int fd,
                             pid_t parent) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // a plinth killed meanwhile leaves no child behind
    if (::getppid() != parent) ::_exit(1);
    start_heap_at_huge_page();
    g_record_fd = fd;
    // The default actions: the child dies by the signal itself, as plinth would have, and a
    // sanitizer's handler does not turn it into a report and an exit status.
    for (int sig : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS}) ::signal(sig, SIG_DFL);
    ::on_exit(leave_at_once, nullptr);
    for (std::size_t i = first; i < files.size(); ++i) {
        send(static_cast<std::uint32_t>(i), Record::constructors);
        const auto digest = load_once(files[i], static_cast<std::uint32_t>(i));
        send(static_cast<std::uint32_t>(i), Record::done, digest);
    }
    ::_exit(0);
}

}  // namespace

std::vector<std::filesystem::path> plugin_files(const std::vector<std::filesystem::path>& folders) {
    std::vector<std::filesystem::path> all;
    for (const auto& folder : folders) {
        std::vector<std::filesystem::path> files;
        std::error_code ec;
        std::filesystem::directory_iterator it(folder, ec), end;
        for (; !ec && it != end; it.increment(ec)) {
            if (it->path().extension() != ".so") continue;
            std::error_code status_error;
            if (it->status(status_error).type() == std::filesystem::file_type::regular && !status_error)
                files.push_back(it->path());
        }
        std::sort(files.begin(), files.end());
        all.insert(all.end(), files.begin(), files.end());
    }
    return all;
}

ProbeRun::ProbeRun(std::vector<std::filesystem::path> files, ProbeOptions options)
    : files_(std::move(files)), options_(std::move(options)) {
    result_.digests.resize(files_.size());
    if (!options_.enabled) next_ = files_.size();
    if (next_ < files_.size()) spawn();
}

ProbeRun::~ProbeRun() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
    ::close(fd_);
}

void ProbeRun::spawn() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        spdlog::warn("cannot try the plugin files in a child process first (pipe: {}); loading them unprobed",
                     std::strerror(errno));
        next_ = files_.size();
        return;
    }
    spdlog::default_logger()->flush();
    std::fflush(nullptr);  // nothing buffered is written twice
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
        const int error = errno;
        ::close(fds[0]);
        ::close(fds[1]);
        spdlog::warn("cannot try the plugin files in a child process first (fork: {}); loading them unprobed",
                     std::strerror(error));
        next_ = files_.size();
        return;
    }
    if (pid == 0) {
        ::close(fds[0]);
        child_main(files_, next_, fds[1], parent);
    }
    ::close(fds[1]);
    pid_ = pid;
    fd_ = fds[0];
}

ProbeResult ProbeRun::finish() {
    while (next_ < files_.size()) {
        if (pid_ <= 0) spawn();
        if (pid_ <= 0) break;
        const pid_t pid = pid_;
        const int fd = fd_;
        std::optional<Record> last;
        std::vector<char> pending;
        bool eof = false, hung = false, stopped = false, all_done = false;
        int status = 0;
        // Counted from here: a child started before the caller's own work (a connection) is not
        // charged for it.
        auto deadline = Clock::now() + options_.timeout;
        // True when it read something.
        const auto read_records = [&](int timeout_ms) {
            pollfd p{fd, POLLIN, 0};
            if (::poll(&p, 1, timeout_ms) <= 0) return false;
            char buffer[sizeof(Record) * 64];
            const ssize_t n = ::read(fd, buffer, sizeof buffer);
            if (n == 0) eof = true;
            if (n <= 0) return false;
            pending.insert(pending.end(), buffer, buffer + n);
            while (pending.size() >= sizeof(Record)) {
                Record r;
                std::memcpy(&r, pending.data(), sizeof r);
                pending.erase(pending.begin(), pending.begin() + sizeof r);
                last = r;
                if (r.phase == Record::done && r.has_digest && r.index < files_.size())
                    result_.digests[r.index] = r.digest;
                deadline = Clock::now() + options_.timeout;  // the bound is each file's
            }
            return true;
        };
        for (;;) {
            if (eof)
                std::this_thread::sleep_for(std::chrono::milliseconds(1));  // closed: the child is exiting
            else
                read_records(20);
            // The last file's record is the child's last act before _exit(0): every digest is in.
            // Its exit (the address space torn down, a millisecond or more at thousands of tables)
            // is reaped by a thread of its own, not waited for.
            if (last && last->phase == Record::done && last->index + 1 == files_.size()) {
                all_done = true;
                break;
            }
            const pid_t done = ::waitpid(pid, &status, WNOHANG);
            if (done == pid) break;
            const bool stop = options_.should_stop && options_.should_stop();
            if (stop || Clock::now() >= deadline) {
                (stop ? stopped : hung) = true;
                ::kill(pid, SIGKILL);
                while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
                }
                break;
            }
        }
        while (!eof && read_records(0)) {
        }
        ::close(fd);
        pid_ = -1;
        fd_ = -1;
        if (all_done) {
            const auto reap = [pid] {
                while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
                }
            };
            if (::waitpid(pid, &status, WNOHANG) == pid) break;
            try {
                std::thread(reap).detach();
            } catch (const std::system_error&) {
                reap();  // no thread to be had: wait as before
            }
            break;
        }

        const bool in_file = last && last->phase != Record::done;
        if (stopped) {
            result_.stopped = true;
            const std::size_t from = !last ? next_ : in_file ? last->index : last->index + 1;
            for (std::size_t i = from; i < files_.size(); ++i)
                result_.refusals.push_back({files_[i].string(), "not loaded: plinth was asked to stop while loading"});
            break;
        }
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && !hung && last && !in_file &&
            last->index + 1 == files_.size())
            break;  // every file loaded (its record read only as the child ended)
        if (!in_file) {
            // Ended between two files, or before the first: no file to name. The rest is loaded
            // unprobed rather than refused on a guess.
            spdlog::warn("the child process trying the plugin files ended outside any file's load ({}); loading the "
                         "rest unprobed",
                         WIFSIGNALED(status) ? "killed by " + signal_text(WTERMSIG(status))
                                             : "exit status " + std::to_string(WEXITSTATUS(status)));
            break;
        }
        std::string how = hung                  ? "did not return within " + model::format_duration(options_.timeout)
                          : WIFSIGNALED(status) ? "killed by " + signal_text(WTERMSIG(status))
                                                : "the process exited with status " + std::to_string(WEXITSTATUS(status));
        result_.refusals.push_back({files_[last->index].string(),
                                    std::string("failed in load (") + phase_text(last->phase) + "): " + how +
                                        "; not loaded (plinth loads each plugin file in a child process first)"});
        next_ = last->index + 1;
    }
    next_ = files_.size();
    return std::move(result_);
}

ProbeResult probe_files(const std::vector<std::filesystem::path>& files, const ProbeOptions& options) {
    return ProbeRun(files, options).finish();
}

}  // namespace plinth::pipeline
