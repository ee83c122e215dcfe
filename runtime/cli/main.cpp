// plinth: load plugins, migrate their schema, run them. The command line is parsed in
// cli/command_line.cpp; each command lives in its own module.
#include "cli/command_line.hpp"

int main(int argc, char** argv) { return plinth::cli::run_command_line(argc, argv); }
