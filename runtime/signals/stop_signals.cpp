#include "signals/stop_signals.hpp"

#include <array>
#include <atomic>
#include <cerrno>
#include <map>
#include <mutex>
#include <system_error>
#include <thread>

#include <fcntl.h>
#include <unistd.h>

namespace plinth::signals {

namespace {

constexpr std::array<int, 3> kSignals{SIGINT, SIGTERM, SIGHUP};

std::atomic<int> g_wake_fd{-1};
std::atomic<bool> g_cleaning{false};
// While a StopRequests exists: a signal caught by the handler is forwarded here instead of ending
// the process (0: none pending).
std::atomic<bool> g_requests_active{false};
std::atomic<int> g_forwarded{0};

extern "C" void on_signal(int sig) {
    if (!g_requests_active.load() && g_cleaning.exchange(true)) {  // impatient second signal
        ::signal(sig, SIG_DFL);
        ::raise(sig);
        return;
    }
    const int saved = errno;
    const auto byte = static_cast<unsigned char>(sig);
    (void)!::write(g_wake_fd.load(), &byte, 1);
    errno = saved;
}

struct Registry {
    std::mutex mu;
    std::map<const CleanupOnSignal*, std::function<void()>> actions;
    std::array<std::optional<struct sigaction>, kSignals.size()> previous;
    bool watching = false;
};

// Never destroyed: the watcher thread lives until the process ends.
Registry& registry() {
    static auto* r = new Registry;
    return *r;
}

void watch(int fd) {
    for (;;) {
        unsigned char sig = 0;
        const ssize_t n = ::read(fd, &sig, 1);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        if (g_requests_active.load()) {
            g_forwarded = sig;
            continue;
        }
        auto& r = registry();
        // Held until the process dies, so no action can be unregistered (and freed) meanwhile.
        std::lock_guard lock(r.mu);
        for (auto& [owner, action] : r.actions) {
            try {
                action();
            } catch (...) {  // the process is going down; the remaining actions still run
            }
        }
        ::signal(sig, SIG_DFL);
        ::raise(sig);
        ::_exit(128 + sig);  // only reached if this thread blocks the signal
    }
}

void start_watcher(Registry& r) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
        throw std::system_error(errno, std::generic_category(), "pipe2");
    g_wake_fd = fds[1];
    std::thread(watch, fds[0]).detach();
    r.watching = true;
}

void install(Registry& r) {
    for (std::size_t i = 0; i < kSignals.size(); ++i) {
        struct sigaction old {};
        ::sigaction(kSignals[i], nullptr, &old);
        if ((old.sa_flags & SA_SIGINFO) || old.sa_handler != SIG_DFL) continue;
        struct sigaction ours {};
        ours.sa_handler = on_signal;
        sigemptyset(&ours.sa_mask);
        ours.sa_flags = SA_RESTART;
        ::sigaction(kSignals[i], &ours, nullptr);
        r.previous[i] = old;
    }
}

void uninstall(Registry& r) {
    for (std::size_t i = 0; i < kSignals.size(); ++i) {
        if (!r.previous[i]) continue;
        struct sigaction current {};
        ::sigaction(kSignals[i], nullptr, &current);
        // Someone may have installed their own handler since; keep theirs.
        if (!(current.sa_flags & SA_SIGINFO) && current.sa_handler == on_signal)
            ::sigaction(kSignals[i], &*r.previous[i], nullptr);
        r.previous[i].reset();
    }
}

std::optional<int> take_forwarded() {
    const int sig = g_forwarded.exchange(0);
    return sig == 0 ? std::nullopt : std::optional<int>(sig);
}

}  // namespace

CleanupOnSignal::CleanupOnSignal(std::function<void()> action) {
    auto& r = registry();
    std::lock_guard lock(r.mu);
    if (!r.watching) start_watcher(r);
    if (r.actions.empty()) install(r);
    r.actions.emplace(this, std::move(action));
}

CleanupOnSignal::~CleanupOnSignal() {
    auto& r = registry();
    std::lock_guard lock(r.mu);
    r.actions.erase(this);
    if (r.actions.empty()) uninstall(r);
}

StopRequests::StopRequests() {
    sigemptyset(&signals_);
    for (int sig : kSignals) sigaddset(&signals_, sig);
    if (const int rc = pthread_sigmask(SIG_BLOCK, &signals_, &previous_); rc != 0)
        throw std::system_error(rc, std::generic_category(), "pthread_sigmask");
    g_requests_active = true;
}

StopRequests::~StopRequests() {
    while (poll()) {
    }
    g_requests_active = false;
    pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
}

std::optional<int> StopRequests::poll() {
    if (auto forwarded = take_forwarded()) return forwarded;
    const timespec zero{};
    for (;;) {
        const int sig = sigtimedwait(&signals_, nullptr, &zero);
        if (sig > 0) return sig;
        if (errno != EINTR) return std::nullopt;  // EAGAIN: none pending
    }
}

int StopRequests::wait() {
    // In slices, so that a signal forwarded by the CleanupOnSignal watcher is seen too.
    const timespec slice{0, 100'000'000};
    for (;;) {
        if (auto forwarded = take_forwarded()) return *forwarded;
        const int sig = sigtimedwait(&signals_, nullptr, &slice);
        if (sig > 0) return sig;
        if (errno != EINTR && errno != EAGAIN) throw std::system_error(errno, std::generic_category(), "sigtimedwait");
    }
}

const char* signal_name(int sig) {
    switch (sig) {
        case SIGINT: return "SIGINT";
        case SIGTERM: return "SIGTERM";
        case SIGHUP: return "SIGHUP";
        default: return "a signal";
    }
}

}  // namespace plinth::signals
