// The process's one service for SIGINT, SIGTERM and SIGHUP, which all mean "stop". It serves two
// kinds of users, and knows of both, so their interplay never depends on construction order:
//
// - CleanupOnSignal: cleanup that must also happen when one of those signals ends the process, e.g.
//   stopping an embedded server nobody uses any more (`plinth migrate` interrupted by Ctrl-C). While
//   at least one exists, each of those signals whose disposition is still the default is caught: a
//   watcher thread runs every registered action, then lets the signal take its default effect, so the
//   process still dies by that signal. A second signal during the cleanup kills at once. Signals the
//   program already handles or ignores are left alone.
//
// - StopRequests: for a program that stops in order by itself (`plinth run`). While one exists, the
//   signals end nothing: each is a request that the holder takes with poll() or wait(), and no cleanup
//   action runs for it (the holder's ordinary destructors release what the actions would have).
//   Construct it on the main thread before any other thread exists: it blocks the signals, and every
//   later thread (plugin threads included) inherits the mask, so plugin code never sees them. A signal
//   that still reaches a CleanupOnSignal handler meanwhile (a thread started earlier) is forwarded to
//   the holder as a request.
#pragma once

#include <functional>
#include <optional>

#include <signal.h>

namespace plinth::signals {

class CleanupOnSignal {
public:
    explicit CleanupOnSignal(std::function<void()> action);
    CleanupOnSignal(const CleanupOnSignal&) = delete;
    CleanupOnSignal& operator=(const CleanupOnSignal&) = delete;
    ~CleanupOnSignal();
};

class StopRequests {
public:
    StopRequests();
    StopRequests(const StopRequests&) = delete;
    StopRequests& operator=(const StopRequests&) = delete;
    // Takes the signals that arrived meanwhile (they asked for the stop that has just happened),
    // then restores the calling thread's mask.
    ~StopRequests();

    // The signal taken, if one is pending; does not wait. A signal taken is gone: the caller keeps
    // it if it matters later.
    std::optional<int> poll();
    // Waits for SIGINT, SIGTERM or SIGHUP and returns it.
    int wait();

private:
    sigset_t signals_;
    sigset_t previous_;
};

// "SIGINT", "SIGTERM", "SIGHUP", else "a signal".
const char* signal_name(int sig);

}  // namespace plinth::signals
