// Test helper: opens a DatabaseSession on the embedded server in argv[1], prints "ready", then
// waits to be killed; the signal tests check what the session leaves behind.
#include <cstdio>
#include <iostream>

#include <unistd.h>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "database/session.hpp"

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: session_holder DATA_DIR\n";
        return 2;
    }
    spdlog::logger log("holder", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    plinth::database::DatabaseOptions options;
    options.data_dir = argv[1];
    auto session = plinth::database::DatabaseSession::open(options, log);
    session.connect().exec("SELECT 1");
    std::cout << "ready" << std::endl;
    for (;;) ::pause();
}
