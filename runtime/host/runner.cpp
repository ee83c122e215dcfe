#include "host/runner.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>

#include <spdlog/spdlog.h>
#include <unistd.h>

#include "apply/migrate.hpp"
#include "host/config.hpp"
#include "host/connection_pool.hpp"
#include "host/host_context.hpp"
#include "host/lifecycle.hpp"
#include "host/logging.hpp"
#include "host/supervisor.hpp"
#include "model/text.hpp"
#include "pipeline/plugin_set.hpp"
#include "signals/stop_signals.hpp"

namespace plinth::hosting {
namespace {

// Written whole under a temporary name, then renamed: a watcher never reads half a file.
void write_ready_file(const std::filesystem::path& path) {
    auto temporary = path;
    temporary += ".tmp";
    {
        std::ofstream out(temporary, std::ios::trunc);
        out << ::getpid() << "\n";
        if (!out.flush()) throw std::runtime_error("cannot write the ready file " + temporary.string());
    }
    std::filesystem::rename(temporary, path);
}

// The plugins' part of a run, in the worker or (--no-supervise) in plinth itself: their contexts and
// connection pool, their lifecycle, the wait for a stop request, their stop.
WorkerOutcome run_plugins(const RunSettings& options, const pipeline::PluginSet& set, const Logging& logging,
                          const Config& config, const database::DatabaseSession& session,
                          const std::function<bool()>& stop_requested, const std::function<int()>& wait_for_stop,
                          const std::function<std::optional<int>()>& taken, const LifecycleObserver& observer,
                          const std::map<std::size_t, std::string>& excluded, const std::function<void()>& ready,
                          const std::shared_ptr<spdlog::logger>& log) {
    const auto& plugins = set.validation.plugins;
    auto pool = std::make_shared<ConnectionPool>(session.conninfo(), options.pool_size,
                                                 options.database.connect_timeout, log);
    std::vector<std::shared_ptr<PluginContext>> contexts;
    for (const auto& p : plugins)
        contexts.push_back(
            std::make_shared<PluginContext>(p.name, logging.plugin_logger(p.name), config.for_plugin(p.name), pool));
    Lifecycle lifecycle(plugins, set.ordering.plugins, std::move(contexts),
                        LifecycleOptions{options.strict, options.stop_timeout, observer}, log);
    for (const auto& [index, reason] : excluded) lifecycle.exclude(index, reason);
    {
        pg::Connection conn = session.connect();
        if (lifecycle.disable_missing_tables(conn) > 0 && options.strict) {
            log->error("not running: --strict, and some plugins lack their tables");
            return {1, false};
        }
    }

    WorkerOutcome outcome;
    switch (lifecycle.start(stop_requested)) {
        case StartOutcome::ready: {
            const auto running = lifecycle.running();
            const auto disabled = lifecycle.disabled();
            std::string line = "plinth is ready: " + std::to_string(running.size()) + " plugin" +
                               (running.size() == 1 ? "" : "s") + " running";
            if (!running.empty()) line += " (" + model::join(running, ", ") + ")";
            if (!disabled.empty()) line += "; " + std::to_string(disabled.size()) + " disabled (" + model::join(disabled, "; ") + ")";
            log->info("{}", line);
            ready();
            const int sig = wait_for_stop();
            log->info("received {}; stopping", signals::signal_name(sig));
            break;
        }
        case StartOutcome::failed:
            log->error("stopping: --strict, and a plugin failed");
            outcome.exit_code = 1;
            break;
        case StartOutcome::interrupted:
            log->info("received {} while starting; stopping", signals::signal_name(taken().value_or(SIGTERM)));
            break;
    }
    const auto abandoned = lifecycle.stop();
    if (!abandoned.empty()) {
        log->error("exiting with {} still in stop", model::join(abandoned, ", "));
        outcome = {1, true};
    }
    return outcome;
}

// Replaces this process by a fresh plinth with the same command line, environment and pid, and so
// the same ready file and supervisor (systemd) view. Signals stay blocked across exec(): a stop
// request arriving meanwhile stays pending, and the new plinth takes it. Returns only on failure.
int restart_plinth(spdlog::logger& log) {
    std::ifstream in("/proc/self/cmdline", std::ios::binary);
    std::vector<std::string> args;
    for (std::string arg; std::getline(in, arg, '\0');) args.push_back(arg);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    log.info("restarting plinth (same process id)");
    log.flush();
    std::fflush(nullptr);
    // Descriptors a plugin library opened without O_CLOEXEC would outlive it in the new image.
    ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
    ::execv("/proc/self/exe", argv.data());
    log.error("cannot restart plinth: {}", std::strerror(errno));
    return 1;
}

}  // namespace

int run(const RunSettings& options) {
    // First, before any thread exists, so that every later thread inherits the blocked signals.
    signals::StopRequests signals;
    Logging logging({parse_log_level(options.log_level),
                     options.log_format == "json" ? LogFormat::json : LogFormat::text, options.log_color});
    const auto log = logging.logger("plinth");
    spdlog::set_default_logger(log);  // every stage, and libpq notices, log through it

    std::error_code ignored;
    if (!options.ready_file.empty()) std::filesystem::remove(options.ready_file, ignored);  // a stale one

    // A stop request (SIGINT, SIGTERM, SIGHUP) taken from the pending signals is kept here, so
    // whoever asks later still sees it.
    std::optional<int> signal;
    const auto stop_requested = [&] {
        if (!signal) signal = signals.poll();
        return signal.has_value();
    };
    pipeline::ProbeOptions probe;
    probe.enabled = options.load_probe;
    probe.timeout = options.init_timeout;
    probe.should_stop = stop_requested;
    pipeline::PluginSet set = pipeline::load_plugin_set(options.plugins_dirs, probe);
    if (set.stopped) {
        log->info("received {} while loading the plugins; stopping", signals::signal_name(signal.value_or(SIGTERM)));
        return 0;
    }
    pipeline::log_plugin_issues(set, options.strict);
    if (options.strict && !set.all_valid()) {
        log->error("not running: --strict, and some plugins are refused, invalid or skipped");
        return 1;
    }
    const auto& plugins = set.validation.plugins;
    std::vector<FileStamp> stamps;  // as loaded: the supervisor restarts plinth when a disabled one changes
    for (const auto& p : plugins) stamps.push_back(stamp_file(p.file).value_or(FileStamp{}));
    std::vector<std::string> names;
    for (const auto& p : plugins) names.push_back(p.name);
    log->info("{} plugin{} from {}: {}", plugins.size(), plugins.size() == 1 ? "" : "s", pipeline::describe_folders(set),
              model::join(names, ", "));
    const Config config =
        options.config_file.empty() ? Config() : Config::load(options.config_file, names, *log);

    std::optional<database::DatabaseSession> session(database::DatabaseSession::open(options.database, *log));
    {
        pg::Connection conn = session->connect();
        apply::MigrateOptions migrate_options;
        migrate_options.lock_timeout = options.lock_timeout;
        migrate_options.lock_budget = options.lock_budget;
        // Asked while waiting for another instance's migration and between attempts.
        migrate_options.should_stop = stop_requested;
        migrate_options.reconnect = [&session] { return session->connect(); };
        migrate_options.strict = options.strict;
        migrate_options.plan.allowed_hazards = {options.allow_hazards.begin(), options.allow_hazards.end()};
        migrate_options.backfill_batch_rows = options.backfill_batch_rows;
        migrate_options.backfill_pause = options.backfill_pause;
        const apply::ConfigLookup lookup = [&config](const std::string& plugin, const std::string& key) {
            const auto values = config.for_plugin(plugin);
            const auto* value = values.get(key);
            return value ? std::optional<std::string>(*value) : std::nullopt;
        };
        migrate_options.upgrades = options.upgrade_in_process
                                       ? apply::in_process_upgrades(lookup)
                                       : apply::forked_upgrades(lookup, options.upgrade_timeout);
        migrate_options.journal_schema = options.database.journal_schema;
        try {
            apply::migrate(conn, set, migrate_options, *log);
        } catch (const apply::MigrationError& e) {
            if (!signal) {
                if (!options.strict) throw;
                log->error("not running: {}", e.what());
                return 1;
            }
            // A requested stop, like one during start-up: nothing was changed and nothing ran, so
            // it ends like any requested stop, with 0.
            log->info("received {}; stopping: {}", signals::signal_name(*signal), e.what());
            return 0;
        }
    }  // the migration's connection is closed here: no libpq object crosses the worker's fork

    const auto write_ready = [&] {
        if (!options.ready_file.empty()) write_ready_file(options.ready_file);
    };
    const auto wait_for_stop = [&] {
        if (!signal) signal = signals.wait();
        return *signal;
    };
    const auto taken = [&] { return signal; };
    const WorkerBody body = [&](const LifecycleObserver& observer, const std::map<std::size_t, std::string>& excluded,
                                const std::function<void()>& ready) {
        return run_plugins(options, set, logging, config, *session, stop_requested, wait_for_stop, taken, observer,
                           excluded, ready, log);
    };
    if (options.supervise) {
        SupervisorSettings supervision{options.strict, options.init_timeout, options.stop_timeout, stamps};
        const auto outcome = supervise(plugins, supervision, signals, signal, *log, body, write_ready);
        if (!options.ready_file.empty()) std::filesystem::remove(options.ready_file, ignored);
        if (!outcome.restart) return outcome.exit_code;
        session.reset();  // the database session and the embedded server's lease, as at any stop
        return restart_plinth(*log);
    }

    const WorkerOutcome outcome = body({}, {}, write_ready);
    if (!options.ready_file.empty()) std::filesystem::remove(options.ready_file, ignored);
    if (outcome.abandoned) {
        // Their threads may still run plugin code: unloading a library or running static
        // destructors under them could crash, so release the database and leave at once.
        session.reset();
        std::fflush(nullptr);
        std::_Exit(1);
    }
    log->info("plinth stopped");
    return outcome.exit_code;
}

}  // namespace plinth::hosting
