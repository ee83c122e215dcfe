#include "cli/run_command.hpp"

#include <cmath>
#include <memory>

#include <CLI/CLI.hpp>

#include "cli/database_options.hpp"
#include "cli/plugin_options.hpp"
#include "host/runner.hpp"

namespace plinth::cli {
namespace {

struct RunOptions {
    PluginOptions plugins;
    hosting::RunSettings settings;
};

std::chrono::milliseconds seconds_to_ms(double seconds) {
    return std::chrono::milliseconds(std::llround(seconds * 1000));
}

}  // namespace

void add_run_command(CLI::App& app, int& exit_code) {
    auto options = std::make_shared<RunOptions>();
    auto* cmd = app.add_subcommand(
        "run", "Migrate the schema the plugins declare, then run the plugins until SIGINT, SIGTERM or SIGHUP");
    add_plugin_options(*cmd, options->plugins);
    add_database_options(*cmd, options->settings.database);
    cmd->add_option("--config", options->settings.config_file,
                    "TOML file with a table per plugin; PLINTH_<PLUGIN>_<KEY> variables override its keys")
        ->type_name("FILE")
        ->envname("PLINTH_CONFIG");
    cmd->add_option("--pool-size", options->settings.pool_size, "Database connections shared by the plugins")
        ->check(CLI::Range(1, 1000))
        ->capture_default_str();
    cmd->add_option("--log-level", options->settings.log_level, "Least severe level logged")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}))
        ->capture_default_str();
    cmd->add_option("--log-format", options->settings.log_format, "text lines, or one JSON object per line")
        ->check(CLI::IsMember({"text", "json"}))
        ->capture_default_str();
    cmd->add_option("--ready-file", options->settings.ready_file,
                    "File written (with plinth's pid) once every plugin has started, removed at stop")
        ->type_name("PATH");
    cmd->add_option_function<double>(
           "--stop-timeout", [options](double s) { options->settings.stop_timeout = seconds_to_ms(s); },
           "Seconds each plugin's stop may take before plinth abandons it and exits")
        ->type_name("SECONDS")
        ->check(CLI::NonNegativeNumber)
        ->default_str("10");
    cmd->add_option_function<double>(
           "--lock-timeout", [options](double s) { options->settings.lock_timeout = seconds_to_ms(s); },
           "Seconds one migration statement may wait for a table lock before the attempt is retried")
        ->type_name("SECONDS")
        ->check(CLI::NonNegativeNumber)
        ->default_str("5");
    cmd->callback([options, &exit_code] {
        options->settings.plugins_dir = options->plugins.plugins_dir.empty()
                                            ? pipeline::default_plugins_dir()
                                            : std::filesystem::path(options->plugins.plugins_dir);
        options->settings.strict = options->plugins.strict;
        exit_code = hosting::run(options->settings);
    });
}

}  // namespace plinth::cli
