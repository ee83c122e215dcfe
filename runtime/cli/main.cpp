// plinth: load plugins, migrate their schema, run them. Each command lives in its own module.
#include <exception>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "cli/check_command.hpp"
#include "cli/db_command.hpp"
#include "cli/migrate_commands.hpp"
#include "cli/run_command.hpp"

int main(int argc, char** argv) {
    CLI::App app{"plinth: a plugin host that migrates the PostgreSQL schema its plugins declare, then runs them"};
    app.set_version_flag("--version", std::string("plinth ") + PLINTH_VERSION);
    app.require_subcommand(1);
    int exit_code = 0;
    plinth::cli::add_check_command(app, exit_code);
    plinth::cli::add_migrate_commands(app, exit_code);
    plinth::cli::add_run_command(app, exit_code);
    plinth::cli::add_db_command(app, exit_code);
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
