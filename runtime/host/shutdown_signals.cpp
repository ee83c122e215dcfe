#include "host/shutdown_signals.hpp"

#include <cerrno>
#include <system_error>

namespace plinth::hosting {

ShutdownSignals::ShutdownSignals() {
    sigemptyset(&signals_);
    sigaddset(&signals_, SIGINT);
    sigaddset(&signals_, SIGTERM);
    sigaddset(&signals_, SIGHUP);  // a closed terminal: stop like SIGTERM
    if (const int rc = pthread_sigmask(SIG_BLOCK, &signals_, &previous_); rc != 0)
        throw std::system_error(rc, std::generic_category(), "pthread_sigmask");
}

ShutdownSignals::~ShutdownSignals() {
    while (poll()) {
    }
    pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
}

std::optional<int> ShutdownSignals::poll() {
    const timespec zero{};
    for (;;) {
        const int sig = sigtimedwait(&signals_, nullptr, &zero);
        if (sig > 0) return sig;
        if (errno != EINTR) return std::nullopt;  // EAGAIN: none pending
    }
}

int ShutdownSignals::wait() {
    for (;;) {
        int sig = 0;
        const int rc = sigwait(&signals_, &sig);
        if (rc == 0) return sig;
        if (rc != EINTR) throw std::system_error(rc, std::generic_category(), "sigwait");
    }
}

}  // namespace plinth::hosting
