// Stage "host": hands control to the plugins. init every plugin in dependency order, then start
// them; stop in reverse. A plugin that fails is disabled together with every plugin depending on
// it (requiring it, or referencing its tables), and the others carry on, unless strict.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "host/host_context.hpp"
#include "model/schema.hpp"
#include "pg/connection.hpp"

namespace spdlog {
class logger;
}

namespace plinth::hosting {

// The plugin function a lifecycle step calls.
enum class Step { init, start, stop };
const char* step_name(Step step);

// Told of each plugin call and each disabling, e.g. by the supervised worker, which passes them on
// to its supervisor (host/supervisor.hpp). Plugins are indices into the plugins given to Lifecycle.
struct LifecycleObserver {
    std::function<void(std::size_t plugin, Step step, bool entering)> call;   // before and after
    std::function<void(std::size_t plugin, const std::string& reason)> disabled;
    std::function<void(std::size_t plugin)> abandoned;  // its stop outlived stop_timeout
};

struct LifecycleOptions {
    bool strict = false;                        // the first failure stops plinth
    std::chrono::milliseconds stop_timeout{10000};  // per plugin; then its stop is abandoned
    LifecycleObserver observer{};               // may be empty
};

enum class StartOutcome {
    ready,        // every plugin not disabled runs
    failed,       // strict, and a plugin failed: nothing more was started
    interrupted,  // a stop was requested before every plugin had started
};

class Lifecycle {
public:
    // plugins: the validated plugins (the library handles inside keep their code loaded); order:
    // initialisation order as indices into plugins; contexts[i] is plugins[i]'s host context.
    Lifecycle(const std::vector<model::Plugin>& plugins, std::vector<std::size_t> order,
              std::vector<std::shared_ptr<PluginContext>> contexts, LifecycleOptions options,
              std::shared_ptr<spdlog::logger> log);
    Lifecycle(const Lifecycle&) = delete;
    Lifecycle& operator=(const Lifecycle&) = delete;
    // Stops whatever still runs, e.g. when an exception ended the run early.
    ~Lifecycle();

    // Disables every plugin with a table the database lacks (one catalog query), with its
    // dependents: a plugin never runs without its tables. Returns how many were disabled.
    std::size_t disable_missing_tables(pg::Connection& conn);

    // Disables a plugin that has not been initialised, without a line of its own (whoever decided
    // said why), and its dependents with one line each.
    void exclude(std::size_t index, const std::string& reason);

    // Runs init on every enabled plugin in order, then start. `stop_requested` is asked before
    // each step. Call stop() afterwards whatever the outcome. A plugin function that lets a C++
    // exception out fails its step ("threw a C++ exception across the plugin ABI"), as does one
    // returning PLINTH_ERROR; the same holds for stop.
    StartOutcome start(const std::function<bool()>& stop_requested = [] { return false; });

    // Stops, in reverse order, every plugin whose init succeeded and that is not stopped yet, each
    // within the stop timeout. Returns the names of the plugins abandoned in their stop: their
    // threads may still run plugin code, so the process should exit without unloading anything.
    std::vector<std::string> stop();

    // Names of the plugins that are started, in start order.
    std::vector<std::string> running() const;
    // "name: why" for each disabled plugin, in initialisation order (including one abandoned in
    // the stop its disabling caused).
    std::vector<std::string> disabled() const;

private:
    enum class State { pending, initialised, started, stopped, disabled, abandoned };
    struct Entry {
        const model::Plugin* plugin;
        std::shared_ptr<PluginContext> context;
        std::vector<std::size_t> dependents;  // direct
        State state = State::pending;
        void* plugin_state = nullptr;
        std::string reason;  // why it was disabled
    };

    void fail(std::size_t index, const std::string& step, const std::string& error);
    // Disables a plugin and everything depending on it, stopping those whose init succeeded.
    void disable(std::size_t index, const std::string& reason);
    void stop_one(Entry& entry);
    void observe(const Entry& entry, Step step, bool entering) const;

    std::vector<Entry> entries_;
    std::vector<std::size_t> order_;
    LifecycleOptions options_;
    std::shared_ptr<spdlog::logger> log_;
};

}  // namespace plinth::hosting
