// `plinth run` assembled: stop signals, logging, the plugin set, the database, the migration, the
// plugins' lifecycle and the ready file, in that order. cli/ only parses options into RunSettings.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "database/session.hpp"
#include "host/logging.hpp"

namespace plinth::hosting {

struct RunSettings {
    std::vector<std::filesystem::path> plugins_dirs;
    bool strict = false;
    database::DatabaseOptions database;
    std::string config_file;  // empty: no configuration file
    std::size_t pool_size = 4;
    std::string log_level = "info";
    std::string log_format = "text";  // "text" or "json"
    ColorMode log_color = ColorMode::automatic;
    std::string ready_file;           // empty: none
    std::chrono::milliseconds stop_timeout{10000};
    // Plugin calls in a forked worker (host/supervisor.hpp); false: in plinth's own process.
    bool supervise = true;
    // Plugin files tried in a child process before plinth loads them (pipeline/load_probe.hpp), each
    // within init_timeout; false: --no-load-probe.
    bool load_probe = true;
    std::chrono::milliseconds init_timeout{30000};  // each init and each start, when supervised
    std::chrono::milliseconds lock_timeout{200};
    std::chrono::milliseconds lock_budget{30000};
    std::vector<std::string> allow_hazards;  // --allow-hazard: "table-rewrite"
    std::int64_t backfill_batch_rows = 2000;
    std::chrono::milliseconds backfill_pause{20};
    std::chrono::milliseconds upgrade_timeout{600000};  // an upgrade step's bound, in its child process
    bool upgrade_in_process = false;                     // upgrade steps in this process (debugging)
};

// Runs until SIGINT, SIGTERM or SIGHUP, or until start-up fails; returns the exit status. Call it on
// the main thread before any other thread exists (see signals::StopRequests). Supervised, plugin
// code runs in a worker process (host/supervisor.hpp). Not supervised, when a plugin's stop hangs past
// its bound, it leaves the process with _Exit(1) after releasing the database, so that no library is
// unloaded and no static destructor runs under plugin code.
int run(const RunSettings& settings);

}  // namespace plinth::hosting
