// SIGINT, SIGTERM and SIGHUP as requests to stop, received synchronously (sigwait) instead of in a
// signal handler. Construct it on the main thread before any other thread exists: threads inherit
// the blocked mask, so the signals stay pending for the process until this object takes them. Any
// handler installed meanwhile (e.g. embedded::SignalCleanup's, which also covers SIGHUP) therefore
// never runs for them, and cannot stop the embedded server under running plugins.
#pragma once

#include <optional>

#include <signal.h>

namespace plinth::hosting {

class ShutdownSignals {
public:
    ShutdownSignals();
    ShutdownSignals(const ShutdownSignals&) = delete;
    ShutdownSignals& operator=(const ShutdownSignals&) = delete;
    // Takes the signals that arrived meanwhile (they asked for the stop that has just happened),
    // then restores the calling thread's mask.
    ~ShutdownSignals();

    // The signal taken, if one is pending; does not wait. A signal taken is gone: the caller keeps
    // it if it matters later.
    std::optional<int> poll();
    // Waits for SIGINT, SIGTERM or SIGHUP and returns it.
    int wait();

private:
    sigset_t signals_;
    sigset_t previous_;
};

}  // namespace plinth::hosting
