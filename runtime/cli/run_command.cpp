#include "cli/run_command.hpp"

#include <cmath>
#include <cstdio>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>

#include <spdlog/spdlog.h>
#include <unistd.h>

#include "apply/migrate.hpp"
#include "cli/plugin_set.hpp"
#include "embedded/database.hpp"
#include "host/config.hpp"
#include "host/connection_pool.hpp"
#include "host/host_context.hpp"
#include "host/lifecycle.hpp"
#include "host/logging.hpp"
#include "host/shutdown_signals.hpp"
#include "model/text.hpp"

namespace plinth::cli {
namespace {

struct RunOptions {
    PluginOptions plugins;
    DatabaseOptions database;
    std::string config_file;
    std::size_t pool_size = 4;
    std::string log_level = "info";
    std::string log_format = "text";
    std::string ready_file;
    std::chrono::milliseconds stop_timeout{10000};
    std::chrono::milliseconds lock_timeout{5000};
};

std::chrono::milliseconds seconds_to_ms(double seconds) {
    return std::chrono::milliseconds(std::llround(seconds * 1000));
}

const char* signal_name(int sig) {
    switch (sig) {
        case SIGINT: return "SIGINT";
        case SIGTERM: return "SIGTERM";
        case SIGHUP: return "SIGHUP";
        default: return "a signal";
    }
}

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

int run(const RunOptions& options) {
    // First, before any thread exists, so that every later thread inherits the blocked signals.
    hosting::ShutdownSignals signals;
    hosting::Logging logging({hosting::parse_log_level(options.log_level),
                           options.log_format == "json" ? hosting::LogFormat::json : hosting::LogFormat::text});
    const auto log = logging.logger("plinth");
    spdlog::set_default_logger(log);  // every stage, and libpq notices, log through it

    std::error_code ignored;
    if (!options.ready_file.empty()) std::filesystem::remove(options.ready_file, ignored);  // a stale one

    const PluginSet set = load_plugin_set(options.plugins);
    log_plugin_issues(set, options.plugins.strict);
    if (options.plugins.strict && !set.all_valid()) {
        log->error("not running: --strict, and some plugins are refused, invalid or skipped");
        return 1;
    }
    const auto& plugins = set.validation.plugins;
    std::vector<std::string> names;
    for (const auto& p : plugins) names.push_back(p.name);
    log->info("{} plugin{} from {}: {}", plugins.size(), plugins.size() == 1 ? "" : "s", set.folder.string(),
              model::join(names, ", "));
    const hosting::Config config =
        options.config_file.empty() ? hosting::Config() : hosting::Config::load(options.config_file, names, *log);

    std::optional<DatabaseSession> session(DatabaseSession::open(options.database, *log));
    auto pool = std::make_shared<hosting::ConnectionPool>(session->conninfo(), options.pool_size,
                                                       options.database.connect_timeout, log);
    std::vector<std::shared_ptr<hosting::PluginContext>> contexts;
    for (const auto& p : plugins)
        contexts.push_back(
            std::make_shared<hosting::PluginContext>(p.name, logging.logger(p.name), config.for_plugin(p.name), pool));
    hosting::Lifecycle lifecycle(plugins, set.ordering.plugins, std::move(contexts),
                              {options.plugins.strict, options.stop_timeout}, log);
    // A stop request (SIGINT, SIGTERM, SIGHUP) taken from the pending signals is kept here, so
    // whoever asks later still sees it.
    std::optional<int> signal;
    const auto stop_requested = [&] {
        if (!signal) signal = signals.poll();
        return signal.has_value();
    };
    {
        pg::Connection conn = session->connect();
        apply::MigrateOptions migrate_options;
        migrate_options.lock_timeout = options.lock_timeout;
        // Asked only while waiting for another instance's migration to release the advisory lock.
        migrate_options.should_stop = stop_requested;
        try {
            apply::migrate(conn, set, migrate_options, *log);
        } catch (const apply::MigrationError& e) {
            if (!signal) throw;
            // A requested stop, like one during start-up: nothing was changed and nothing ran, so
            // it ends like any requested stop, with 0.
            log->info("received {}; stopping: {}", signal_name(*signal), e.what());
            return 0;
        }
        if (lifecycle.disable_missing_tables(conn) > 0 && options.plugins.strict) {
            log->error("not running: --strict, and some plugins lack their tables");
            return 1;
        }
    }

    int exit_code = 0;
    switch (lifecycle.start(stop_requested)) {
        case hosting::StartOutcome::ready: {
            const auto running = lifecycle.running();
            const auto disabled = lifecycle.disabled();
            std::string line = "plinth is ready: " + std::to_string(running.size()) + " plugin" +
                               (running.size() == 1 ? "" : "s") + " running";
            if (!running.empty()) line += " (" + model::join(running, ", ") + ")";
            if (!disabled.empty()) line += "; " + std::to_string(disabled.size()) + " disabled (" + model::join(disabled, "; ") + ")";
            log->info("{}", line);
            if (!options.ready_file.empty()) write_ready_file(options.ready_file);
            if (!signal) signal = signals.wait();
            log->info("received {}; stopping", signal_name(*signal));
            break;
        }
        case hosting::StartOutcome::failed:
            log->error("stopping: --strict, and a plugin failed");
            exit_code = 1;
            break;
        case hosting::StartOutcome::interrupted:
            log->info("received {} while starting; stopping", signal_name(*signal));
            break;
    }
    const auto abandoned = lifecycle.stop();
    if (!options.ready_file.empty()) std::filesystem::remove(options.ready_file, ignored);
    if (!abandoned.empty()) {
        // Their threads may still run plugin code: unloading a library or running static
        // destructors under them could crash, so release the database and leave at once.
        log->error("exiting with {} still in stop", model::join(abandoned, ", "));
        session.reset();
        std::fflush(nullptr);
        std::_Exit(1);
    }
    log->info("plinth stopped");
    return exit_code;
}

}  // namespace

void add_run_command(CLI::App& app, int& exit_code) {
    auto options = std::make_shared<RunOptions>();
    auto* cmd = app.add_subcommand(
        "run", "Migrate the schema the plugins declare, then run the plugins until SIGINT, SIGTERM or SIGHUP");
    add_plugin_options(*cmd, options->plugins);
    add_database_options(*cmd, options->database);
    cmd->add_option("--config", options->config_file,
                    "TOML file with a table per plugin; PLINTH_<PLUGIN>_<KEY> variables override its keys")
        ->type_name("FILE")
        ->envname("PLINTH_CONFIG");
    cmd->add_option("--pool-size", options->pool_size, "Database connections shared by the plugins")
        ->check(CLI::Range(1, 1000))
        ->capture_default_str();
    cmd->add_option("--log-level", options->log_level, "Least severe level logged")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}))
        ->capture_default_str();
    cmd->add_option("--log-format", options->log_format, "text lines, or one JSON object per line")
        ->check(CLI::IsMember({"text", "json"}))
        ->capture_default_str();
    cmd->add_option("--ready-file", options->ready_file,
                    "File written (with plinth's pid) once every plugin has started, removed at stop")
        ->type_name("PATH");
    cmd->add_option_function<double>(
           "--stop-timeout", [options](double s) { options->stop_timeout = seconds_to_ms(s); },
           "Seconds each plugin's stop may take before plinth abandons it and exits")
        ->type_name("SECONDS")
        ->check(CLI::NonNegativeNumber)
        ->default_str("10");
    cmd->add_option_function<double>(
           "--lock-timeout", [options](double s) { options->lock_timeout = seconds_to_ms(s); },
           "Seconds one migration statement may wait for a table lock before the attempt is retried")
        ->type_name("SECONDS")
        ->check(CLI::NonNegativeNumber)
        ->default_str("5");
    cmd->callback([options, &exit_code] { exit_code = run(*options); });
}

}  // namespace plinth::cli
