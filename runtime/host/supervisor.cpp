#include "host/supervisor.hpp"

#include "host/thread_stacks.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <system_error>
#include <thread>

#include <dlfcn.h>
#include <execinfo.h>
#include <fcntl.h>
#include <link.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "model/text.hpp"

namespace plinth::hosting {
namespace {

using Clock = std::chrono::steady_clock;

// One record from the worker. Fixed size, below PIPE_BUF, so each write() arrives whole and
// records of several threads never interleave.
struct Message {
    enum Kind : std::uint32_t { call, returned, disabled, abandoned, ready, leaving, crash };
    Kind kind;
    std::int32_t plugin;  // index into the plugins, -1 for none
    std::int32_t value;   // crash: the signal; leaving: the exit status
    std::uint32_t step;   // call, returned: the Step; leaving: 1 when a stop was abandoned
    std::uint64_t address;  // crash: the faulting instruction, or (caller) a return address
    std::uint32_t caller;   // crash: 1 when `address` is the innermost plugin frame on the stack
    char text[480];         // disabled: why
};
static_assert(sizeof(Message) <= PIPE_BUF);

// An address range of a plugin library's loaded segments, recorded before the fork.
struct Range {
    std::uintptr_t begin, end;
    std::uintptr_t base;  // where the library is loaded: addresses in it are base + offset
    std::int32_t plugin;
};
constexpr std::size_t kMaxRanges = 1024;
std::array<Range, kMaxRanges> g_ranges;
std::size_t g_range_count = 0;

// The worker's state as its crash handler reads it.
int g_report_fd = -1;
std::atomic<std::int32_t> g_call_plugin{-1};
std::atomic<std::uint32_t> g_call_step{0};

// Records the loaded segments of the library holding each plugin's code.
void record_ranges(const std::vector<model::Plugin>& plugins) {
    g_range_count = 0;
    for (std::size_t i = 0; i < plugins.size(); ++i) {
        const auto& l = plugins[i].lifecycle;
        const void* code = l.init ? reinterpret_cast<const void*>(l.init)
                           : l.start ? reinterpret_cast<const void*>(l.start)
                                     : reinterpret_cast<const void*>(l.stop);
        if (!code) continue;  // no code of its own ever runs
        struct Search {
            std::uintptr_t code;
            std::int32_t plugin;
        } search{reinterpret_cast<std::uintptr_t>(code), static_cast<std::int32_t>(i)};
        ::dl_iterate_phdr(
            [](dl_phdr_info* info, std::size_t, void* data) -> int {
                const auto& s = *static_cast<Search*>(data);
                const auto segment = [&](int k) {
                    const auto begin = static_cast<std::uintptr_t>(info->dlpi_addr + info->dlpi_phdr[k].p_vaddr);
                    return std::pair(begin, begin + info->dlpi_phdr[k].p_memsz);
                };
                bool holds = false;
                for (int k = 0; k < info->dlpi_phnum && !holds; ++k) {
                    if (info->dlpi_phdr[k].p_type != PT_LOAD) continue;
                    const auto [begin, end] = segment(k);
                    holds = s.code >= begin && s.code < end;
                }
                if (!holds) return 0;
                for (int k = 0; k < info->dlpi_phnum && g_range_count < kMaxRanges; ++k) {
                    if (info->dlpi_phdr[k].p_type != PT_LOAD || !(info->dlpi_phdr[k].p_flags & PF_X)) continue;
                    const auto [begin, end] = segment(k);
                    g_ranges[g_range_count++] = Range{begin, end, static_cast<std::uintptr_t>(info->dlpi_addr), s.plugin};
                }
                return 1;
            },
            &search);
    }
}

// Async-signal-safe.
const Range* range_at(std::uintptr_t address) {
    for (std::size_t i = 0; i < g_range_count; ++i)
        if (address >= g_ranges[i].begin && address < g_ranges[i].end) return &g_ranges[i];
    return nullptr;
}

void send(const Message& m) {
    if (g_report_fd < 0) return;
    for (;;) {
        const ssize_t n = ::write(g_report_fd, &m, sizeof m);
        if (n < 0 && errno == EINTR) continue;
        return;  // the supervisor is gone: the worker dies with it (PR_SET_PDEATHSIG)
    }
}

std::uintptr_t instruction_address(const void* context) {
    const auto* uc = static_cast<const ucontext_t*>(context);
#if defined(__x86_64__)
    return static_cast<std::uintptr_t>(uc->uc_mcontext.gregs[REG_RIP]);
#elif defined(__aarch64__)
    return static_cast<std::uintptr_t>(uc->uc_mcontext.pc);
#else
    (void)uc;
    return 0;
#endif
}

constexpr std::array<int, 7> kCrashSignals{SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS};

// Async-signal-safe calls only: it runs on whatever thread faulted, in whatever state.
extern "C" void on_crash(int sig, siginfo_t*, void* context) {
    Message m{};
    m.kind = Message::crash;
    m.value = sig;
    m.address = instruction_address(context);
    const Range* range = range_at(static_cast<std::uintptr_t>(m.address));
    m.plugin = range ? range->plugin : -1;
    m.step = g_call_step.load();
    send(m);
    if (!range) {
        // Faulted outside any plugin, e.g. abort() or an uncaught exception's std::terminate in
        // libc: the innermost plugin frame on the stack says whose thread it was. Sent second, as
        // the unwinder may take the loader's lock (backtrace was called once before any plugin
        // code, so it loads nothing now); a worker that never gets further is killed.
        void* frames[64];
        const int count = ::backtrace(frames, 64);
        for (int i = 0; i < count; ++i) {
            const auto address = reinterpret_cast<std::uintptr_t>(frames[i]);
            if (const Range* caller = range_at(address)) {
                m.address = address;
                m.plugin = caller->plugin;
                m.caller = 1;
                send(m);
                break;
            }
        }
    }
    // SA_RESETHAND put the default action back; the signal, blocked in here, is delivered once the
    // handler returns (a fault would also recur at the same instruction).
    ::raise(sig);
}

alignas(16) std::array<unsigned char, 64 * 1024> g_alternate_stack;

void install_crash_handler() {
    void* warm[1];
    ::backtrace(warm, 1);  // loads the unwinder now, not in the handler
    stack_t stack{};
    stack.ss_sp = g_alternate_stack.data();
    stack.ss_size = g_alternate_stack.size();
    ::sigaltstack(&stack, nullptr);  // the main thread's; a stack overflow there is still reported
    host::give_threads_alternate_stacks();  // and the other threads', created from now on
    struct sigaction action {};
    action.sa_sigaction = on_crash;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND;
    for (int sig : kCrashSignals) ::sigaction(sig, &action, nullptr);
}

std::string signal_text(int sig) {
    const char* abbreviation = ::sigabbrev_np(sig);
    const char* description = ::sigdescr_np(sig);
    std::string text = abbreviation ? std::string("SIG") + abbreviation : "signal " + std::to_string(sig);
    if (description) text += std::string(" (") + description + ")";
    return text;
}

std::string hex(std::uint64_t value) {
    std::ostringstream out;
    out << "0x" << std::hex << value;
    return out.str();
}

// What the supervisor knows of one worker.
struct WorkerState {
    std::optional<std::size_t> call_plugin;  // in a call, and which
    Step call_step = Step::init;
    Clock::time_point deadline = Clock::time_point::max();  // of the call
    bool ready = false;
    bool stopping = false;  // a stop request was passed on
    std::optional<Message> crash;
    std::optional<Message> crash_caller;  // the innermost plugin frame, for a fault outside plugins
    Clock::time_point crash_deadline = Clock::time_point::max();
    std::optional<Message> leaving;
    std::optional<std::string> hung;  // why it was killed
    std::optional<std::size_t> hung_plugin;
    Step hung_step = Step::init;
};

// Kills (SIGKILL) and reaps a worker still running when the supervisor leaves early, e.g. by an
// exception: before the database session (and the embedded server's lease) is released.
class WorkerGuard {
public:
    explicit WorkerGuard(pid_t& pid) : pid_(pid) {}
    WorkerGuard(const WorkerGuard&) = delete;
    WorkerGuard& operator=(const WorkerGuard&) = delete;
    ~WorkerGuard() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGKILL);
        while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
        }
    }

private:
    pid_t& pid_;
};

[[noreturn]] void worker_main(int report_fd, pid_t supervisor, const std::map<std::size_t, std::string>& excluded,
                              const WorkerBody& body, spdlog::logger& log) {
    // Dies with the supervisor, whatever kills it; a supervisor gone before this line is checked.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != supervisor) ::_exit(1);
    g_report_fd = report_fd;
    install_crash_handler();
    LifecycleObserver observer;
    observer.call = [](std::size_t plugin, Step step, bool entering) {
        g_call_step = static_cast<std::uint32_t>(step);
        g_call_plugin = entering ? static_cast<std::int32_t>(plugin) : -1;
        Message m{};
        m.kind = entering ? Message::call : Message::returned;
        m.plugin = static_cast<std::int32_t>(plugin);
        m.step = static_cast<std::uint32_t>(step);
        send(m);
    };
    observer.disabled = [](std::size_t plugin, const std::string& reason) {
        Message m{};
        m.kind = Message::disabled;
        m.plugin = static_cast<std::int32_t>(plugin);
        std::snprintf(m.text, sizeof m.text, "%s", reason.c_str());
        send(m);
    };
    observer.abandoned = [](std::size_t plugin) {
        Message m{};
        m.kind = Message::abandoned;
        m.plugin = static_cast<std::int32_t>(plugin);
        m.step = static_cast<std::uint32_t>(Step::stop);
        send(m);
    };
    WorkerOutcome outcome;
    try {
        outcome = body(observer, excluded, [] {
            Message m{};
            m.kind = Message::ready;
            m.plugin = -1;
            send(m);
        });
    } catch (const std::exception& e) {
        log.error("{}", e.what());
        outcome.exit_code = 1;
    } catch (...) {
        log.error("the plugins' worker failed with an unknown exception");
        outcome.exit_code = 1;
    }
    Message m{};
    m.kind = Message::leaving;
    m.plugin = -1;
    m.value = outcome.exit_code;
    m.step = outcome.abandoned ? 1 : 0;
    send(m);
    log.flush();
    std::fflush(nullptr);
    // Nothing of the supervisor's (its session, its lease) is released from here, and no library
    // is unloaded under a thread a plugin may have left running.
    ::_exit(outcome.exit_code);
}

}  // namespace

std::optional<FileStamp> stamp_file(const std::string& file) {
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0) return std::nullopt;
    return FileStamp{static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino),
                     static_cast<std::int64_t>(st.st_size),
                     static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
}

SuperviseOutcome supervise(const std::vector<model::Plugin>& plugins, const SupervisorSettings& settings,
                           signals::StopRequests& signals, std::optional<int>& signal, spdlog::logger& log,
                           const WorkerBody& body, const std::function<void()>& ready) {
    record_ranges(plugins);
    const auto name = [&](std::size_t i) { return "\"" + plugins[i].name + "\""; };
    std::map<std::size_t, std::string> excluded;  // disabled, by this supervisor or a worker
    bool ready_told = false;
    int restarts = 0;
    pid_t pid = -1;
    const WorkerGuard guard(pid);
    // A disabled plugin's file seen changed: its latest stamp and since when it has not changed.
    std::map<std::size_t, std::pair<FileStamp, Clock::time_point>> changing;
    auto next_look = Clock::now();
    // The disabled plugin whose file changed and has settled, if any.
    const auto changed_file = [&]() -> std::optional<std::size_t> {
        if (settings.stamps.size() != plugins.size() || Clock::now() < next_look) return std::nullopt;
        next_look = Clock::now() + std::chrono::milliseconds(250);
        for (const auto& [index, reason] : excluded) {
            const auto now = stamp_file(plugins[index].file);
            if (!now || *now == settings.stamps[index]) {
                changing.erase(index);
                continue;
            }
            const auto [seen, inserted] = changing.try_emplace(index, *now, Clock::now());
            if (!inserted && !(seen->second.first == *now)) seen->second = {*now, Clock::now()};
            else if (!inserted && Clock::now() - seen->second.second >= settings.settle) return index;
        }
        return std::nullopt;
    };
    for (;;) {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe2");
        log.flush();
        std::fflush(nullptr);  // nothing buffered is written twice
        const pid_t supervisor = ::getpid();
        pid = ::fork();
        if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork");
        if (pid == 0) {
            ::close(fds[0]);
            worker_main(fds[1], supervisor, excluded, body, log);
        }
        ::close(fds[1]);
        log.debug("forked the plugins' worker, pid {}", pid);
        WorkerState w;
        std::vector<char> pending;
        const auto take = [&](const Message& m) {
            switch (m.kind) {
                case Message::call:
                    w.call_plugin = static_cast<std::size_t>(m.plugin);
                    w.call_step = static_cast<Step>(m.step);
                    w.deadline = Clock::now() + (w.call_step == Step::stop
                                                     ? settings.stop_timeout + std::chrono::seconds(1)
                                                     : settings.init_timeout);
                    if (w.stopping && w.call_step != Step::stop)
                        w.deadline = std::min(w.deadline, Clock::now() + settings.stop_timeout);
                    break;
                case Message::returned:
                    w.call_plugin.reset();
                    w.deadline = Clock::time_point::max();
                    break;
                case Message::disabled:
                    if (m.plugin >= 0 && static_cast<std::size_t>(m.plugin) < plugins.size())
                        excluded.emplace(static_cast<std::size_t>(m.plugin),
                                         std::string(m.text, strnlen(m.text, sizeof m.text)));
                    break;
                case Message::abandoned:
                    // While running, a hung stop is handled like any hung call. When stopping, the
                    // worker goes on stopping the others and leaves with status 1.
                    if (!w.stopping && !w.hung) {
                        w.hung_plugin = static_cast<std::size_t>(m.plugin);
                        w.hung_step = Step::stop;
                        w.hung = "did not return from stop within " + model::format_duration(settings.stop_timeout);
                        ::kill(pid, SIGKILL);
                    }
                    break;
                case Message::ready:
                    w.ready = true;
                    if (!ready_told) {
                        ready_told = true;
                        ready();
                    }
                    break;
                case Message::leaving: w.leaving = m; break;
                case Message::crash:
                    if (m.caller) {
                        w.crash_caller = m;
                    } else {
                        w.crash = m;
                        // A handler that does not get the worker to die (stuck unwinding) is ended.
                        w.crash_deadline = Clock::now() + std::chrono::seconds(2);
                    }
                    break;
            }
        };
        const auto drain = [&](int timeout_ms) {
            pollfd p{fds[0], POLLIN, 0};
            if (::poll(&p, 1, timeout_ms) <= 0) return false;
            char buffer[sizeof(Message) * 8];
            const ssize_t n = ::read(fds[0], buffer, sizeof buffer);
            if (n <= 0) return false;
            pending.insert(pending.end(), buffer, buffer + n);
            while (pending.size() >= sizeof(Message)) {
                Message m;
                std::memcpy(&m, pending.data(), sizeof m);
                pending.erase(pending.begin(), pending.begin() + sizeof m);
                take(m);
            }
            return true;
        };
        int status = 0;
        bool restart = false;  // stopping the worker for a restart of plinth
        const auto begin_stop = [&](int sig) {
            w.stopping = true;
            ::kill(pid, sig);  // the worker takes it as its own stop request
            // A plugin call in progress may not hold the stop up longer than a stop may take.
            if (w.call_plugin) w.deadline = std::min(w.deadline, Clock::now() + settings.stop_timeout);
        };
        for (;;) {
            drain(50);
            if ((!w.stopping || restart) && !signal) {
                signal = signals.poll();
                if (signal && restart) {
                    restart = false;
                    log.info("received {}; stopping instead of restarting", signals::signal_name(*signal));
                }
            }
            if (signal && !w.stopping) begin_stop(*signal);
            if (!w.stopping && !settings.strict)
                if (const auto changed = changed_file()) {
                    log.info("the file of disabled plugin {} changed ({}); stopping the plugins to restart plinth, "
                             "which loads, validates and migrates it again",
                             name(*changed), plugins[*changed].file);
                    restart = true;
                    begin_stop(SIGTERM);
                }
            if (!w.hung && w.call_plugin && Clock::now() >= w.deadline) {
                const auto bound = w.call_step == Step::stop ? settings.stop_timeout : settings.init_timeout;
                w.hung_plugin = w.call_plugin;
                w.hung_step = w.call_step;
                w.hung = w.stopping && w.call_step != Step::stop
                             ? "did not return from " + std::string(step_name(w.call_step)) + " within " +
                                   model::format_duration(settings.stop_timeout) + " of " +
                                   signals::signal_name(*signal)
                             : "did not return from " + std::string(step_name(w.call_step)) + " within " +
                                   model::format_duration(bound);
                ::kill(pid, SIGKILL);
            }
            if (Clock::now() >= w.crash_deadline) ::kill(pid, SIGKILL);
            const pid_t done = ::waitpid(pid, &status, WNOHANG);
            if (done == pid) break;
            if (done < 0 && errno != EINTR) throw std::system_error(errno, std::generic_category(), "waitpid");
        }
        pid = -1;
        while (drain(0)) {
        }
        ::close(fds[0]);

        if (w.leaving && !w.hung) {
            if (restart) return {0, true};
            if (w.leaving->step == 1) return {1, false};  // the worker said which stop it abandoned
            log.info("plinth stopped");
            return {w.leaving->value, false};
        }
        // The worker died otherwise than by leaving: name what it was doing.
        std::optional<std::size_t> culprit = w.hung ? w.hung_plugin : w.call_plugin;
        std::string phase = w.hung                           ? step_name(w.hung_step)
                            : w.call_plugin                  ? step_name(w.call_step)
                            : w.ready && !w.stopping          ? "running"
                            : w.stopping                      ? "stop"
                                                              : "start-up";
        std::string how;
        if (w.hung) {
            how = *w.hung + "; killed the plugins' worker";
        } else if (WIFSIGNALED(status)) {
            const int sig = WTERMSIG(status);
            how = "killed by " + signal_text(sig);
            if (w.crash && w.crash->address != 0) {
                how += " at " + hex(w.crash->address);
                if (const Range* range = range_at(static_cast<std::uintptr_t>(w.crash->address))) {
                    // The faulting instruction is the plugin's own, whatever call was in progress.
                    culprit = static_cast<std::size_t>(range->plugin);
                    how += " (" + plugins[*culprit].file + "+" + hex(w.crash->address - range->base) + ")";
                } else if (w.crash_caller) {
                    // A return address: the call is the instruction before it (past a noreturn
                    // call at a function's end, the address itself may belong to no function).
                    const std::uint64_t call = w.crash_caller->address - 1;
                    if (const Range* caller = range_at(static_cast<std::uintptr_t>(call))) {
                        culprit = static_cast<std::size_t>(caller->plugin);
                        how += ", called from " + plugins[*culprit].file + "+" + hex(call - caller->base);
                    }
                }
            }
        } else {
            how = "the process exited with status " + std::to_string(WEXITSTATUS(status));
        }
        const std::string what = culprit ? "plugin " + name(*culprit) + " failed in " + phase + ": " + how
                                         : "the plugins' worker died in " + phase + " (in no plugin's call or code): " + how;
        if (w.stopping) {
            // Stopping already: the plugins after it in the stop order are not stopped.
            log.error("{}", what);
            if (restart) return {0, true};
            log.error("exiting without stopping the remaining plugins");
            return {1, false};
        }
        if (settings.strict) {
            log.error("{}", what);
            log.error("stopping: --strict, and a plugin failed");
            return {1, false};
        }
        if (culprit) {
            log.error("{}; it is disabled", what);
            excluded[*culprit] = phase + " failed: " + how;
        } else {
            log.error("{}", what);
        }
        // Back-off: 0.5 s, doubling up to 30 s; a stop request meanwhile ends plinth at once.
        const auto delay = std::min<std::chrono::milliseconds>(std::chrono::milliseconds(500L << std::min(restarts, 6)),
                                                               std::chrono::seconds(30));
        ++restarts;
        std::vector<std::string> without;
        for (const auto& [index, reason] : excluded) without.push_back(plugins[index].name);
        log.warn("restarting the plugins' worker in {}{} (restart {})", model::format_duration(delay),
                 without.empty() ? "" : ", without " + model::join(without, ", "), restarts);
        const auto until = Clock::now() + delay;
        while (Clock::now() < until) {
            if ((signal = signals.poll())) {
                log.info("received {}; stopping", signals::signal_name(*signal));
                log.info("plinth stopped");
                return {0, false};
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    }
}

}  // namespace plinth::hosting
