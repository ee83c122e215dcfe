#pragma once

namespace CLI {
class App;
}

namespace plinth::cli {

// `plinth check`: load and validate the plugins, print them with their tables in creation order.
void add_check_command(CLI::App& app, int& exit_code);

}  // namespace plinth::cli
