#include "cli/command_line.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <sstream>
#include <cstdlib>
#include <iostream>
#include <exception>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include <CLI/CLI.hpp>
#include <plinth/plinth_plugin.h>
#include <spdlog/spdlog.h>

#include "cli/commands.hpp"
#include "host/config.hpp"
#include "host/logging.hpp"
#include "host/runner.hpp"
#include "plan/plan.hpp"

namespace plinth::cli {
namespace {

// The one exit status of every usage error (unknown command or option, bad value), as sysexits.h's
// EX_USAGE, apart from the statuses the commands give (0, 1, 2, 3).
constexpr int kUsageError = 64;

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
    command.add_flag_callback(
        "--no-load-probe", [&options] { options.load_probe = false; },
        "Load the plugin files in plinth's own process without trying them in a child process first, e.g. to debug "
        "a library constructor under gdb");
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

// --allow-hazard NAME: what plinth otherwise leaves for a person, allowed by the operator.
void add_allow_hazard(CLI::App& cmd, std::vector<std::string>& hazards) {
    cmd.add_option("--allow-hazard", hazards,
                   "Allow what plinth otherwise leaves for a person; give it again for more. table-rewrite: a "
                   "column type change that rewrites the table (ACCESS EXCLUSIVE until the commit)")
        ->type_name("HAZARD")
        ->check(CLI::IsMember(plan::allowable_hazards()));
}

// --backfill-batch-rows and --backfill-pause: how a backfill after the commit shares the table.
void add_backfill_options(CLI::App& cmd, std::int64_t& rows, double& pause_s) {
    cmd.add_option("--backfill-batch-rows", rows, "Rows a backfill updates per transaction, by primary key")
        ->type_name("ROWS")
        ->check(CLI::Range(std::int64_t{1}, std::int64_t{1000000}))
        ->capture_default_str();
    cmd.add_option("--backfill-pause", pause_s, "Seconds a backfill pauses between two batches")
        ->type_name("SECONDS")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
}

void add_database_command_options(CLI::App& cmd, DatabaseCommandOptions& o, const std::vector<std::string>& formats) {
    add_plugin_options(cmd, o.plugins);
    add_database_options(cmd, o.database);
    cmd.add_option("--format", o.format, "Output format")->check(CLI::IsMember(formats));
    cmd.add_option("--lock-timeout", o.lock_timeout_s,
                   "Seconds one statement or catalog read may wait for a table lock (0: no limit); while it waits, "
                   "the table's writers queue behind it")
        ->type_name("SECONDS")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    add_allow_hazard(cmd, o.allow_hazards);
}

// plan and status: when to read the catalog although the plugins key says there is nothing to show.
void add_plan_full_check(CLI::App& cmd, int& every) {
    cmd.add_option("--full-check-every", every,
                   "When the journal's plugins key and the DDL epoch say nothing changed since a migration that "
                   "left nothing aside, the plan is empty without reading the catalog; about one run in N (at "
                   "random) reads it anyway; 1: every run, 0: only after a server restart")
        ->type_name("N")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
}

void add_plan_command(CLI::App& app, int& exit_code) {
    auto plan_options = std::make_shared<DatabaseCommandOptions>();
    auto* plan_cmd = app.add_subcommand(
        "plan", "Print what migrate would do (SQL, hazards, what it will not do); exit 0 in sync, 2 work pending, "
        "3 nothing to do but the database differs in ways plinth leaves alone, 1 error or blocked");
    add_database_command_options(*plan_cmd, *plan_options, {"text", "json", "sql"});
    add_plan_full_check(*plan_cmd, plan_options->full_check_every);
    plan_cmd->callback([plan_options, &exit_code] { exit_code = plan(*plan_options); });
}

void add_migrate_command(CLI::App& app, int& exit_code) {
    auto migrate_options = std::make_shared<DatabaseCommandOptions>();
    auto* migrate_cmd = app.add_subcommand("migrate", "Apply the plan in one transaction under an advisory lock, then exit");
    add_database_command_options(*migrate_cmd, *migrate_options, {"text", "json"});
    migrate_cmd->add_option("--lock-budget", migrate_options->lock_budget_s,
                            "Seconds attempts that failed on a lock are retried, with jittered backoff, before giving up")
        ->type_name("SECONDS")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    add_backfill_options(*migrate_cmd, migrate_options->backfill_batch_rows, migrate_options->backfill_pause_s);
    migrate_cmd->add_option("--full-check-every", migrate_options->full_check_every,
                            "Where the DDL epoch decides a no-op start, about one start in N (at random) checks the full "
                            "catalog fingerprint instead; 1: every start, 0: only after a server restart")
        ->type_name("N")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    migrate_cmd->add_option("--upgrade-timeout", migrate_options->upgrade_timeout_s,
                            "Seconds a plugin's upgrade step (its statements included) may take before its process is "
                            "killed and the migration rolled back")
        ->type_name("SECONDS")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    migrate_cmd->add_flag("--upgrade-in-process", migrate_options->upgrade_in_process,
                          "Run plugins' upgrade steps in plinth's own process instead of a child each (for a debugger; "
                          "a crash then ends plinth)");
    migrate_cmd->callback([migrate_options, &exit_code] { exit_code = migrate(*migrate_options); });
}

void add_status_command(CLI::App& app, int& exit_code) {
    auto status_options = std::make_shared<DatabaseCommandOptions>();
    auto* status_cmd = app.add_subcommand("status", "Show per plugin its version, schema hash, last application and drift; exit codes as plan's");
    add_database_command_options(*status_cmd, *status_options, {"text", "json"});
    add_plan_full_check(*status_cmd, status_options->full_check_every);
    status_cmd->callback([status_options, &exit_code] { exit_code = status(*status_options); });
}

void add_history_command(CLI::App& app, int& exit_code) {
    auto options = std::make_shared<HistoryOptions>();
    auto* cmd = app.add_subcommand(
        "history", "List the migrations the journal recorded, newest first: plugins, versions, statements, after-commit work");
    add_database_options(*cmd, options->database);
    cmd->add_option("--plugin", options->plugin, "Only the migrations that recorded this plugin, and only its part")
        ->type_name("PLUGIN");
    cmd->add_option("--limit", options->limit, "How many migrations to show")->check(CLI::PositiveNumber)->capture_default_str();
    cmd->add_option("--format", options->format, "Output format")->check(CLI::IsMember({"text", "json"}));
    cmd->callback([options, &exit_code] { exit_code = history(*options); });
}

struct RunOptions {
    PluginOptions plugins;
    hosting::RunSettings settings;
};

// The [plinth] table of the --config file sets the options neither the command line nor the
// environment gave: command line, then environment, then file. A key that names no option, or a
// value the option refuses, is a usage error that names the file, line and key.
void apply_file_settings(CLI::App& run, const std::string& config_file) {
    if (config_file.empty()) return;
    std::map<std::string, hosting::Setting> settings;
    try {
        settings = hosting::load_plinth_settings(config_file);
    } catch (const hosting::ConfigError& e) {
        throw CLI::ValidationError(e.what());
    }
    for (const auto& [key, setting] : settings) {
        std::string name = key;
        std::replace(name.begin(), name.end(), '_', '-');
        CLI::Option* option = name == "help" || name == "config" ? nullptr : run.get_option_no_throw("--" + name);
        if (!option || option->get_positional())
            throw CLI::ValidationError(setting.where + ": [plinth] " + key + " is not an option of plinth run (" +
                                       "see plinth help run; write --pool-size as pool_size)");
        if (option->count() > 0) continue;
        // The plugin folders of the environment beat the file's too.
        if (name == "plugins" && (std::getenv("PLINTH_PLUGINS_PATH") || std::getenv("PLINTH_PLUGINS_DIR"))) continue;
        if (setting.values.size() != 1 && option->get_items_expected_max() <= 1)
            throw CLI::ValidationError(setting.where + ": [plinth] " + key + " takes one value, not an array");
        try {
            for (const auto& value : setting.values) option->add_result(value);
            option->run_callback();
        } catch (const CLI::Error& e) {
            throw CLI::ValidationError(setting.where + ": [plinth] " + key + ": " + e.what());
        }
    }
}

// `color` is set once parsing is complete, before the command runs.
void add_run_command(CLI::App& app, int& exit_code, const hosting::ColorMode& color) {
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
           "--init-timeout", [options](double s) { options->settings.init_timeout = seconds_to_ms(s); },
           "Seconds each plugin's init, and each start, may take before plinth counts it as hung and disables it")
        ->type_name("SECONDS")
        ->check(CLI::NonNegativeNumber)
        ->default_str("30");
    cmd->add_flag_callback(
        "--no-supervise", [options] { options->settings.supervise = false; },
        "Run the plugins in plinth's own process instead of a supervised worker, e.g. to debug one under gdb");
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
    add_allow_hazard(*cmd, options->settings.allow_hazards);
    cmd->add_option("--backfill-batch-rows", options->settings.backfill_batch_rows,
                    "Rows a backfill updates per transaction, by primary key")
        ->type_name("ROWS")
        ->check(CLI::Range(std::int64_t{1}, std::int64_t{1000000}))
        ->capture_default_str();
    cmd->add_option_function<double>(
           "--backfill-pause", [options](double s) { options->settings.backfill_pause = seconds_to_ms(s); },
           "Seconds a backfill pauses between two batches")
        ->type_name("SECONDS")
        ->check(CLI::NonNegativeNumber)
        ->default_str("0.02");
    cmd->add_option_function<double>(
           "--upgrade-timeout", [options](double s) { options->settings.upgrade_timeout = seconds_to_ms(s); },
           "Seconds a plugin's upgrade step (its statements included) may take before its process is killed and "
           "the migration rolled back")
        ->type_name("SECONDS")
        ->check(CLI::PositiveNumber)
        ->default_str("600");
    cmd->add_flag("--upgrade-in-process", options->settings.upgrade_in_process,
                  "Run plugins' upgrade steps in plinth's own process instead of a child each (for a debugger)");
    // Every option but --help and --plugins (which has $PLINTH_PLUGINS_PATH) also reads
    // PLINTH_<OPTION>: --pool-size from PLINTH_POOL_SIZE.
    for (auto* option : cmd->get_options()) {
        const auto& names = option->get_lnames();
        if (names.empty() || names[0] == "help" || names[0] == "plugins" || !option->get_envname().empty()) continue;
        std::string variable = "PLINTH_" + names[0];
        for (char& c : variable) c = c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        option->envname(variable);
    }
    cmd->callback([cmd, options, &exit_code, &color] {
        apply_file_settings(*cmd, options->settings.config_file);
        options->settings.log_color = color;
        options->settings.plugins_dirs = plugin_folders(options->plugins);
        options->settings.strict = options->plugins.strict;
        options->settings.load_probe = options->plugins.load_probe;
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
    cmd.add_option("--journal-schema", opts.journal_schema,
                   "Schema of plinth's journal and bookkeeping; a role that may not create schemas can use one it "
                   "may create tables in, e.g. public (see docs/deploying.md)")
        ->type_name("SCHEMA")
        ->check([](const std::string& name) {
            return name.empty() || name.size() > 63 ? std::string("a schema name of 1 to 63 bytes") : std::string();
        })
        ->capture_default_str();
}

namespace {

// `plinth help [COMMAND...]`: the help of plinth, or of the command named.
void add_help_command(CLI::App& app, int& exit_code) {
    auto names = std::make_shared<std::vector<std::string>>();
    auto* cmd = app.add_subcommand("help", "Show the help of plinth, or of a command: plinth help db start");
    cmd->add_option("command", *names, "The command")->type_name("COMMAND");
    cmd->callback([&app, names, &exit_code] {
        const CLI::App* target = &app;
        for (const auto& name : *names) {
            const CLI::App* next = nullptr;
            for (const auto* sub : target->get_subcommands([](const CLI::App*) { return true; }))
                if (sub->get_name() == name) next = sub;
            if (!next) {
                std::cerr << "plinth help: no command \"" << name << "\"; see plinth help\n";
                exit_code = kUsageError;
                return;
            }
            target = next;
        }
        // App::help() would describe the command being run (help itself); the formatter does not.
        std::cout << target->get_formatter()->make_help(target, target->get_name(), CLI::AppFormatMode::Normal);
        exit_code = 0;
    });
}

// The choices of an option checked with CLI::IsMember, read from its type name ("TEXT:{text,json}").
std::string choices_of(const CLI::Option& option) {
    const std::string type = option.get_type_name();
    const auto open = type.find('{'), close = type.find('}');
    if (open == std::string::npos || close == std::string::npos || close < open) return "";
    std::string out = type.substr(open + 1, close - open - 1);
    std::replace(out.begin(), out.end(), ',', ' ');
    return out;
}

void add_completion_words(const CLI::App& command, const std::string& path, std::ostream& paths, std::ostream& values,
                          std::ostream& cases) {
    std::string words;
    for (const auto* option : command.get_options()) {
        const std::string type = option->get_type_name();
        const auto choices = choices_of(*option);
        if (option->get_positional()) {
            if (!choices.empty()) words += " " + choices;
            continue;
        }
        for (const auto& name : option->get_lnames()) {
            words += " --" + name;
            if (option->get_items_expected_max() == 0) continue;  // a flag
            std::string action = "COMPREPLY=()";
            if (type.rfind("DIR", 0) == 0) action = "COMPREPLY=($(compgen -d -- \"$cur\"))";
            else if (type.rfind("FILE", 0) == 0 || type.rfind("PATH", 0) == 0)
                action = "COMPREPLY=($(compgen -f -- \"$cur\"))";
            else if (!choices.empty()) action = "COMPREPLY=($(compgen -W '" + choices + "' -- \"$cur\"))";
            values << "        \"" << path << "\"/--" << name << ") " << action << "; return ;;\n";
        }
    }
    const auto subcommands = command.get_subcommands([](const CLI::App*) { return true; });
    for (const auto* sub : subcommands) {
        words += " " + sub->get_name();
        const std::string sub_path = path + " " + sub->get_name();
        paths << "            \"" << path << "\"/" << sub->get_name() << ") path=\"" << sub_path << "\" ;;\n";
        add_completion_words(*sub, sub_path, paths, values, cases);
    }
    if (path == " help")
        for (const auto* sub : command.get_parent()->get_subcommands([](const CLI::App*) { return true; }))
            words += " " + sub->get_name();
    cases << "        \"" << path << "\") words=\"" << words.substr(words.empty() ? 0 : 1) << "\" ;;\n";
}

// A bash completion script made from the commands and options defined above, so it cannot fall
// behind them; the build writes it to share/bash-completion/completions/plinth.
std::string bash_completion(const CLI::App& app) {
    std::ostringstream paths, values, cases;
    add_completion_words(app, "", paths, values, cases);
    std::ostringstream out;
    out << "# bash completion for plinth; made by `plinth completion bash`, do not edit.\n"
           "_plinth() {\n"
           "    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} path=\"\" words i\n"
           "    for ((i = 1; i < COMP_CWORD; i++)); do\n"
           "        case \"$path/${COMP_WORDS[i]}\" in\n"
        << paths.str()
        << "        esac\n"
           "    done\n"
           "    case \"$path/$prev\" in\n"
        << values.str()
        << "    esac\n"
           "    case \"$path\" in\n"
        << cases.str()
        << "    esac\n"
           "    COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
           "}\n"
           "complete -F _plinth plinth\n";
    return out.str();
}

void add_completion_command(CLI::App& app, int& exit_code) {
    auto* cmd = app.add_subcommand("completion", "Print a completion script: plinth completion bash");
    auto shell = std::make_shared<std::string>();
    cmd->add_option("shell", *shell, "The shell")->required()->check(CLI::IsMember({"bash"}));
    // The callback owns `shell`, the option's storage, as long as the app lives.
    cmd->callback([&app, &exit_code, shell] {
        std::cout << bash_completion(app);
        exit_code = 0;
    });
}

}  // namespace

int run_command_line(int argc, char** argv) {
    CLI::App app{"plinth: a plugin host that migrates the PostgreSQL schema its plugins declare, then runs them"};
    app.set_version_flag("--version", std::string("plinth ") + PLINTH_VERSION + " (plugin ABI " +
                                          std::to_string(PLINTH_ABI_MAJOR) + "." + std::to_string(PLINTH_ABI_MINOR) + ")");
    app.require_subcommand(1);
    // Global options are accepted after the command too: plinth plan --color never.
    app.fallthrough();
    std::string color = "auto";
    app.add_option("--color", color, "Colour text logs: auto (a terminal, unless $NO_COLOR is set), always, never")
        ->check(CLI::IsMember({"auto", "always", "never"}))
        ->capture_default_str();
    int exit_code = 0;
    hosting::ColorMode color_mode = hosting::ColorMode::automatic;
    const std::pair<std::string_view, std::function<void()>> commands[] = {
        {"check", [&] { add_check_command(app, exit_code); }},
        {"describe", [&] { add_describe_command(app, exit_code); }},
        {"new", [&] { add_new_command(app, exit_code); }},
        {"plan", [&] { add_plan_command(app, exit_code); }},
        {"migrate", [&] { add_migrate_command(app, exit_code); }},
        {"status", [&] { add_status_command(app, exit_code); }},
        {"history", [&] { add_history_command(app, exit_code); }},
        {"run", [&] { add_run_command(app, exit_code, color_mode); }},
        {"db", [&] { add_db_command(app, exit_code); }},
        {"help", [&] { add_help_command(app, exit_code); }},
        {"completion", [&] { add_completion_command(app, exit_code); }},
    };
    // Only the command the line names is built: building every command with its options took
    // 0.4 ms of every start (docs/BENCHMARKS.md, ninth round). All of them for help and
    // completion, which describe them, and for a line that names none, whose usage error lists them.
    std::string_view named;
    for (int i = 1; i < argc && named.empty(); ++i)
        for (const auto& command : commands)
            if (command.first == argv[i]) named = command.first;
    if (named == "help" || named == "completion") named = {};
    for (const auto& [name, add] : commands)
        if (named.empty() || name == named) add();
    // Runs before the command's callback, so that every command logs the same way.
    app.parse_complete_callback([&app, &color, &color_mode] {
        color_mode = hosting::parse_color_mode(color, std::getenv("NO_COLOR"));
        // A command whose output is JSON or SQL keeps stdout for it; its logs go to stderr.
        bool machine_output = false;
        for (const auto* command : app.get_subcommands())
            if (const auto* format = command->get_option_no_throw("--format"); format && format->count() > 0)
                machine_output = machine_output || format->as<std::string>() != "text";
        spdlog::set_default_logger(
            hosting::Logging({spdlog::level::info, hosting::LogFormat::text, color_mode, machine_output}).command_logger());
    });
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        // --help and --version end parsing with status 0; every usage error gets one documented status.
        return app.exit(e) == 0 ? 0 : kUsageError;
    } catch (const std::exception& e) {
        spdlog::error("{}", e.what());
        return 1;
    }
    return exit_code;
}

}  // namespace plinth::cli
