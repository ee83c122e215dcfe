#pragma once

#include <CLI/CLI.hpp>

namespace plinth::cli {

// `plinth plan`, `plinth migrate` and `plinth status`.
void add_migrate_commands(CLI::App& app, int& exit_code);

}  // namespace plinth::cli
