// The command line: every command and option of plinth, parsed in this one place (the only
// translation unit that includes CLI11, which is slow to compile).
#pragma once

#include "database/session.hpp"

namespace CLI {
class App;
}

namespace plinth::cli {

// Parses argv, runs the command it names and returns the process's exit status.
int run_command_line(int argc, char** argv);

// Adds --database-url URL, --connect-timeout SECONDS, --data-dir DIR and --journal-schema SCHEMA to
// a (sub)command; the defaults shown are opts' current values.
void add_database_options(CLI::App& cmd, database::DatabaseOptions& opts);

}  // namespace plinth::cli
