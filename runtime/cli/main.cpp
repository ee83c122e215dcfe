// plinth: load plugins, migrate their schema, run them. The command line is parsed in
// cli/command_line.cpp; each command lives in its own module.
#include "cli/command_line.hpp"
#include "cli/process_exit.hpp"
#include "pipeline/huge_heap.hpp"

int main(int argc, char** argv) {
    plinth::pipeline::prefer_huge_heap();
    plinth::cli::exit_process(plinth::cli::run_command_line(argc, argv));
}
