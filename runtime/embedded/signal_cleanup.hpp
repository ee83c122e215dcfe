// Cleanup that must also happen when Ctrl-C (SIGINT), SIGTERM or SIGHUP end the process, e.g.
// stopping an embedded server nobody uses any more.
//
// While at least one SignalCleanup exists, each of those signals whose disposition is still the
// default is caught: a watcher thread runs every registered action, then lets the signal take its
// default effect, so the process still dies by that signal. A second signal during the cleanup kills
// at once. Signals the program already handles or ignores are left alone: its own handling must then
// end in ordinary returns so that destructors run.
#pragma once

#include <functional>

namespace plinth::embedded {

class SignalCleanup {
public:
    explicit SignalCleanup(std::function<void()> action);
    SignalCleanup(const SignalCleanup&) = delete;
    SignalCleanup& operator=(const SignalCleanup&) = delete;
    ~SignalCleanup();
};

}  // namespace plinth::embedded
