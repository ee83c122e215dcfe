// The commands, each a function of plain options that returns the exit status. Parsing the
// command line into these options is command_line.cpp's job alone, so CLI11 (costly to compile)
// is compiled once.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "database/session.hpp"
#include "pipeline/plugin_set.hpp"

namespace plinth::cli {

struct PluginOptions {
    std::vector<std::string> plugins_dirs;  // --plugins, in order; empty: see plugin_folders()
    bool strict = false;
    bool load_probe = true;  // false: --no-load-probe (pipeline/load_probe.hpp)
};

// The folders to load: --plugins DIR (each), else $PLINTH_PLUGINS_PATH (colon-separated), else
// $PLINTH_PLUGINS_DIR (one folder), else pipeline::default_plugins_dir().
std::vector<std::filesystem::path> plugin_folders(const PluginOptions& options);

// The plugin set of the folders the options name.
pipeline::PluginSet load_plugin_set(const PluginOptions& options);

// `plinth check`: load and validate the plugins, print their tables in creation order.
// 0: all valid; 1: something refused, invalid or skipped.
struct CheckOptions {
    PluginOptions plugins;
    std::string format = "text";  // "text" or "json"
};
int check(const CheckOptions& options);

// `plinth plan`, `migrate` and `status`.
struct DatabaseCommandOptions {
    PluginOptions plugins;
    database::DatabaseOptions database;
    std::string format = "text";  // "text" or "json"
    double lock_timeout_s = 0.2;  // seconds a statement or catalog read may wait for a table lock; 0: no limit
    double lock_budget_s = 30;    // migrate only: seconds attempts that failed on a lock are retried
    std::vector<std::string> allow_hazards;  // --allow-hazard: "table-rewrite"
    std::int64_t backfill_batch_rows = 2000; // migrate only: rows per backfill batch
    double backfill_pause_s = 0.02;          // migrate only: seconds between two backfill batches
    bool upgrade_in_process = false;  // migrate only: upgrade steps in plinth's own process (debugging)
    double upgrade_timeout_s = 600;   // migrate only: seconds an upgrade step may take
    int full_check_every = 100;       // migrate, plan, status: apply::MigrateOptions::full_fingerprint_every
};
// 0: up to date; 2: changes pending; 1: blocked or an error.
int plan(const DatabaseCommandOptions& options);
// 0: applied (or nothing to do); 1: refused, failed, or work after the commit failed.
int migrate(const DatabaseCommandOptions& options);
int status(const DatabaseCommandOptions& options);

// `plinth history`: the journal, newest first: when, which plugins and versions (and the versions
// before), the statements, durations, work after the commit and how it ended. Loads no plugins.
struct HistoryOptions {
    database::DatabaseOptions database;
    std::string plugin;           // empty: every plugin
    std::string format = "text";  // "text" or "json"
    int limit = 20;
};
int history(const HistoryOptions& options);

// `plinth new NAME [--dir DIR]`: writes a working out-of-tree plugin (source, meson.build,
// CMakeLists.txt, README.md) into DIR (default ./NAME), which must not exist or be empty.
struct NewPluginOptions {
    std::string name;
    std::string dir;
};
int new_plugin(const NewPluginOptions& options);

// `plinth describe [PLUGIN...]`: every table of the named (or all) valid plugins, with what an
// author needs to reference it. 0: shown; 1: a named plugin is not among the valid ones.
struct DescribeOptions {
    PluginOptions plugins;
    std::vector<std::string> names;
    std::string format = "text";  // "text" or "json"
};
int describe(const DescribeOptions& options);

// `plinth db start|stop|url|status` on the embedded server in data_dir. status: 0 running, 3 not.
int db_start(const std::filesystem::path& data_dir);
int db_stop(const std::filesystem::path& data_dir);
int db_url(const std::filesystem::path& data_dir);
int db_status(const std::filesystem::path& data_dir);

}  // namespace plinth::cli
