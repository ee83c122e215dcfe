// Supervised plugins: `plinth run` as a supervisor and a worker, like PostgreSQL's postmaster and
// its backends. The supervisor (the process plinth started as) has loaded, validated and migrated;
// it keeps the database session (and the embedded server's lease), the signals and the ready file,
// and forks a worker that runs every plugin call: init, start, the running plugins' threads, stop.
// The worker opens its own connections; no libpq object crosses the fork.
//
// The worker tells the supervisor over a pipe which plugin is in which call, which plugins it
// disabled, when it is ready and when it leaves of its own accord. A crash handler in the worker
// (alternate stack, async-signal-safe calls only) adds the signal and the faulting instruction's
// address, mapped to the plugin library that holds it from address ranges recorded before the fork.
// When the worker dies otherwise than by leaving, or a call outlives its bound (init and start:
// init_timeout; stop: stop_timeout and a grace second, the worker abandoning it first), the
// supervisor names the plugin, the step and the signal or exit status, SIGKILLs a hung worker,
// disables that plugin (the new worker disables its dependents, one line each) and forks a new
// worker without them after a back-off. Strict: it stops with status 1 instead.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "host/lifecycle.hpp"
#include "model/schema.hpp"
#include "signals/stop_signals.hpp"

namespace spdlog {
class logger;
}

namespace plinth::hosting {

// What tells a plugin library file's new version from the one loaded: changed by a rebuild, a copy
// or a rename over it.
struct FileStamp {
    std::uint64_t device = 0, inode = 0;
    std::int64_t size = -1, mtime_ns = 0;
    bool operator==(const FileStamp&) const = default;
};
// nullopt when the file cannot be stat()ed (e.g. while it is being replaced).
std::optional<FileStamp> stamp_file(const std::string& file);

struct SupervisorSettings {
    bool strict = false;
    std::chrono::milliseconds init_timeout{30000};  // each init and each start
    std::chrono::milliseconds stop_timeout{10000};  // each stop; also the bound after SIGINT/SIGTERM
    // Each plugin's file as loaded, by index; empty: files are not watched. When the file of a
    // disabled plugin changes and then stays unchanged for `settle`, the worker is stopped and
    // supervise() asks for a restart of plinth: the new file has to be loaded, validated and
    // migrated like any other, which only a fresh process can do (a library is never unloaded).
    std::vector<FileStamp> stamps;
    std::chrono::milliseconds settle{1000};
};

struct SuperviseOutcome {
    int exit_code = 0;
    bool restart = false;  // a disabled plugin's file changed: plinth should restart (exit_code 0)
};

// How the plugins' part of a run ended, in the worker.
struct WorkerOutcome {
    int exit_code = 0;
    bool abandoned = false;  // a plugin's stop was abandoned: not the normal way out
};

// Runs the plugins in the worker: builds their lifecycle with `observer`, excludes the plugins of
// `excluded` (index -> why) before anything starts, calls `ready` once every other plugin has
// started, waits for a stop request and stops them.
using WorkerBody = std::function<WorkerOutcome(const LifecycleObserver& observer,
                                               const std::map<std::size_t, std::string>& excluded,
                                               const std::function<void()>& ready)>;

// Supervises workers running `body` until a stop request ends the last one, or until the file of a
// disabled plugin changed (settings.stamps); returns the exit status, or asks for a restart.
// `ready` runs in the supervisor the first time a worker is ready. `signal` receives the stop
// request taken here. Call it with no other thread running plugin code and no libpq connection open.
SuperviseOutcome supervise(const std::vector<model::Plugin>& plugins, const SupervisorSettings& settings,
              signals::StopRequests& signals, std::optional<int>& signal, spdlog::logger& log,
              const WorkerBody& body, const std::function<void()>& ready);

}  // namespace plinth::hosting
