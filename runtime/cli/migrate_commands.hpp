#pragma once

namespace CLI {
class App;
}

namespace plinth::cli {

// `plinth plan`, `plinth migrate` and `plinth status`.
void add_migrate_commands(CLI::App& app, int& exit_code);

}  // namespace plinth::cli
