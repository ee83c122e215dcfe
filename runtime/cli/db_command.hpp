// `plinth db start|stop|url|status`: managing the embedded PostgreSQL server.
#pragma once

namespace CLI {
class App;
}

namespace plinth::cli {

// Adds `db` and its subcommands to app. A subcommand sets exit_code (`db status`: 0 running, 3 not)
// and throws std::exception on failure. Messages go to spdlog's default logger; `url` and `status`
// print their answer on stdout.
void add_db_command(CLI::App& app, int& exit_code);

}  // namespace plinth::cli
