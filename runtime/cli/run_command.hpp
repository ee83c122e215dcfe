#pragma once

namespace CLI {
class App;
}

namespace plinth::cli {

// `plinth run`: load and validate the plugins, migrate, then init and start them in dependency
// order; on SIGINT, SIGTERM or SIGHUP stop them in reverse order and exit 0. A stop requested
// while the migration waits for another instance's also exits 0 (nothing changed, nothing ran).
// Exit 1: an error, a --strict failure, or a plugin abandoned in its stop.
void add_run_command(CLI::App& app, int& exit_code);

}  // namespace plinth::cli
