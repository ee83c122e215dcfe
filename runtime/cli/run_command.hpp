#pragma once

#include <CLI/CLI.hpp>

namespace plinth::cli {

// `plinth run`: load and validate the plugins, migrate, then init and start them in dependency
// order; on SIGINT or SIGTERM stop them in reverse order and exit 0.
void add_run_command(CLI::App& app, int& exit_code);

}  // namespace plinth::cli
