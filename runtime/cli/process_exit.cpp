#include "cli/process_exit.hpp"

#include "load/loader.hpp"
#include "signals/sanitizer.hpp"

#include <cstdio>
#include <cstdlib>
#include <memory>

#include <unistd.h>

#include <spdlog/spdlog.h>

namespace plinth::cli {

void exit_process(int status) {
#ifndef PLINTH_ASAN
    if (!load::plugin_library_opened()) {
        spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& logger) { logger->flush(); });
        std::fflush(nullptr);
        ::_exit(status);
    }
#endif
    std::exit(status);
}

}  // namespace plinth::cli
