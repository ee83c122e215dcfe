#include "cli/command_line.hpp"

#include <cmath>
#include <exception>
#include <filesystem>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "cli/commands.hpp"
#include "host/runner.hpp"

namespace plinth::cli {
namespace {

std::chrono::milliseconds seconds_to_ms(double seconds) {
    return std::chrono::milliseconds(std::llround(seconds * 1000));
}

// Adds --plugins DIR and --strict to a command.
void add_plugin_options(CLI::App& command, PluginOptions& options) {
    command.add_option("--plugins", options.plugins_dirs,
                       "Folder of plugin .so files; give it again for more folders (default: $PLINTH_PLUGINS_PATH, "
                       "colon-separated, then $PLINTH_PLUGINS_DIR, then the shipped plugins)")
        ->type_name("DIR")
        ->allow_extra_args(false);
    command.add_flag("--strict", options.strict, "Fail the run when any plugin is refused, invalid or skipped");
}

void add_check_command(CLI::App& app, int& exit_code) {
    auto options = std::make_shared<CheckOptions>();
    auto* cmd = app.add_subcommand("check", "Load and validate the plugins; print their tables in creation order");
    add_plugin_options(*cmd, options->plugins);
    cmd->add_option("--format", options->format, "Output format")->check(CLI::IsMember({"text", "json"}));
    cmd->callback([options, &exit_code] { exit_code = check(*options); });
}

void add_describe_command(CLI::App& app, int& exit_code) {
    auto options = std::make_shared<DescribeOptions>();
    auto* cmd = app.add_subcommand(
        "describe", "Show every table of the named (or all) plugins: columns, types, defaults, keys, indexes, checks");
    add_plugin_options(*cmd, options->plugins);
    cmd->add_option("plugin", options->names, "Plugins to describe (default: all)")->type_name("PLUGIN");
    cmd->add_option("--format", options->format, "Output format")->check(CLI::IsMember({"text", "json"}));
    cmd->callback([options, &exit_code] { exit_code = describe(*options); });
}

void add_new_command(CLI::App& app, int& exit_code) {
    auto options = std::make_shared<NewPluginOptions>();
    auto* cmd = app.add_subcommand(
        "new", "Write a working out-of-tree plugin to start from: source, meson.build, CMakeLists.txt, README.md");
    cmd->add_option("name", options->name, "The plugin's name")->required()->type_name("NAME");
    cmd->add_option("--dir", options->dir, "Folder to write it in (default: ./NAME); must not exist or be empty")
        ->type_name("DIR");
    cmd->callback([options, &exit_code] { exit_code = new_plugin(*options); });
}

void add_database_command_options(CLI::App& cmd, DatabaseCommandOptions& o, bool with_format) {
    add_plugin_options(cmd, o.plugins);
    add_database_options(cmd, o.database);
    if (with_format) cmd.add_option("--format", o.format, "Output format")->check(CLI::IsMember({"text", "json"}));
    cmd.add_option("--lock-timeout", o.lock_timeout_s,
                   "Seconds one statement or catalog read may wait for a table lock (0: no limit); while it waits, "
                   "the table's writers queue behind it")
        ->type_name("SECONDS")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
}

void add_migrate_commands(CLI::App& app, int& exit_code) {
    auto plan_options = std::make_shared<DatabaseCommandOptions>();
    auto* plan_cmd = app.add_subcommand(
        "plan", "Print what migrate would do (SQL, hazards, what it will not do); exit 0 in sync, 2 work pending, "
        "3 nothing to do but the database differs in ways plinth leaves alone, 1 error or blocked");
    add_database_command_options(*plan_cmd, *plan_options, true);
    plan_cmd->callback([plan_options, &exit_code] { exit_code = plan(*plan_options); });

    auto migrate_options = std::make_shared<DatabaseCommandOptions>();
    auto* migrate_cmd = app.add_subcommand("migrate", "Apply the plan in one transaction under an advisory lock, then exit");
    add_database_command_options(*migrate_cmd, *migrate_options, false);
    migrate_cmd->add_option("--lock-budget", migrate_options->lock_budget_s,
                            "Seconds attempts that failed on a lock are retried, with jittered backoff, before giving up")
        ->type_name("SECONDS")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    migrate_cmd->callback([migrate_options, &exit_code] { exit_code = migrate(*migrate_options); });

    auto status_options = std::make_shared<DatabaseCommandOptions>();
    auto* status_cmd = app.add_subcommand("status", "Show per plugin its version, schema hash, last application and drift; exit codes as plan's");
    add_database_command_options(*status_cmd, *status_options, true);
    status_cmd->callback([status_options, &exit_code] { exit_code = status(*status_options); });
}

struct RunOptions {
    PluginOptions plugins;
    hosting::RunSettings settings;
};

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
           "Seconds one migration statement may wait for a table lock before the attempt is retried (0: no limit)")
        ->type_name("SECONDS")
        ->check(CLI::NonNegativeNumber)
        ->default_str("0.2");
    cmd->add_option_function<double>(
           "--lock-budget", [options](double s) { options->settings.lock_budget = seconds_to_ms(s); },
           "Seconds migration attempts that failed on a lock are retried, with jittered backoff, before giving up")
        ->type_name("SECONDS")
        ->check(CLI::NonNegativeNumber)
        ->default_str("30");
    cmd->callback([options, &exit_code] {
        options->settings.plugins_dirs = plugin_folders(options->plugins);
        options->settings.strict = options->plugins.strict;
        exit_code = hosting::run(options->settings);
    });
}

void add_db_command(CLI::App& app, int& exit_code) {
    auto* db = app.add_subcommand("db", "Manage the embedded PostgreSQL server");
    db->require_subcommand(1);
    // Owned by the callbacks, which live as long as app.
    auto data_dir = std::make_shared<std::filesystem::path>(".plinth");
    const auto add = [&](const char* name, const char* description, int (*command)(const std::filesystem::path&)) {
        auto* sub = db->add_subcommand(name, description);
        sub->add_option("--data-dir", *data_dir, "Folder of the embedded server")
            ->type_name("DIR")
            ->default_str(data_dir->string());
        sub->callback([data_dir, command, &exit_code] { exit_code = command(*data_dir); });
    };
    add("start", "Create the embedded server if needed and start it; it keeps running", db_start);
    add("stop", "Stop the embedded server", db_stop);
    add("url", "Print the embedded server's connection URI, e.g. psql \"$(plinth db url)\"", db_url);
    add("status", "Tell whether the embedded server runs (exit status 0) or not (3)", db_status);
}

}  // namespace

void add_database_options(CLI::App& cmd, database::DatabaseOptions& opts) {
    cmd.add_option("--database-url", opts.url,
                   "PostgreSQL to use, as a libpq URI or key=value string (default: "
                   "$PLINTH_DATABASE_URL, then $DATABASE_URL, then the embedded server in --data-dir)")
        ->type_name("URL");
    cmd.add_option_function<double>(
           "--connect-timeout",
           [&opts](double seconds) {
               opts.connect_timeout = std::chrono::milliseconds(std::llround(seconds * 1000));
           },
           "Seconds to wait for the database to accept connections")
        ->type_name("SECONDS")
        ->check(CLI::NonNegativeNumber)
        ->default_str(std::to_string(opts.connect_timeout.count() / 1000));
    cmd.add_option("--data-dir", opts.data_dir,
                   "Folder of the embedded PostgreSQL server, used when no database URL is given")
        ->type_name("DIR")
        ->default_str(opts.data_dir.string());
}

int run_command_line(int argc, char** argv) {
    CLI::App app{"plinth: a plugin host that migrates the PostgreSQL schema its plugins declare, then runs them"};
    app.set_version_flag("--version", std::string("plinth ") + PLINTH_VERSION);
    app.require_subcommand(1);
    int exit_code = 0;
    add_check_command(app, exit_code);
    add_describe_command(app, exit_code);
    add_new_command(app, exit_code);
    add_migrate_commands(app, exit_code);
    add_run_command(app, exit_code);
    add_db_command(app, exit_code);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    } catch (const std::exception& e) {
        spdlog::error("{}", e.what());
        return 1;
    }
    return exit_code;
}

}  // namespace plinth::cli
