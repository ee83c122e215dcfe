// Plugin configuration: one table per plugin in a TOML file (--config), each key overridable by an
// environment variable PLINTH_<PLUGIN>_<KEY>. Read once at start-up; immutable afterwards, so any
// thread may read it.
//
//   [project-management]          # PLINTH_PROJECT_MANAGEMENT_PROJECT_NAME overrides
//   project_name = "Launch plinth"
//   [project-management.limits]   # nested tables give dotted keys: "limits.tasks"
//   tasks = 3
#pragma once

#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace spdlog {
class logger;
}

namespace plinth::hosting {

// A configuration file that cannot be used; the message names the file, line and key.
class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// "project-management", "limits.tasks" -> "PLINTH_PROJECT_MANAGEMENT_LIMITS_TASKS"
std::string config_env_name(std::string_view plugin, std::string_view key);

// One plugin's view: its own keys only.
class PluginConfig {
public:
    PluginConfig() = default;
    PluginConfig(std::string plugin, std::map<std::string, std::string> file_values,
                 std::map<std::string, std::string> environment);

    // The environment's value, else the file's, else nullptr. The pointer stays valid as long as
    // this object, which never changes.
    const std::string* get(std::string_view key) const;

private:
    std::string plugin_;
    std::map<std::string, std::string, std::less<>> file_values_;
    std::map<std::string, std::string, std::less<>> environment_;  // full variable name -> value
};

class Config {
public:
    // No file: environment variables only.
    Config() = default;
    // Parses `file` (a missing file is an error). The [plinth] table is plinth's own (see
    // load_plinth_settings). Other tables not named after one of `plugins`, and keys
    // outside any table, are reported as warnings on `log`: most likely a typo. Strings are taken
    // as they are; numbers, booleans, dates and times as their TOML text; arrays are refused.
    // Throws ConfigError.
    static Config load(const std::filesystem::path& file, const std::vector<std::string>& plugins,
                       spdlog::logger& log);

    // Snapshots the PLINTH_<PLUGIN>_ environment variables at the time of the call.
    PluginConfig for_plugin(const std::string& plugin) const;

private:
    std::map<std::string, std::map<std::string, std::string>> tables_;
};

// One key of the [plinth] table: plinth's own settings, the `run` options by their long names with
// underscores (pool_size = 8, log_format = "json", plugins = ["a", "b"]).
struct Setting {
    std::vector<std::string> values;  // one, or an array's elements, as text
    std::string where;                // "file:line"
};

// The [plinth] table of `file` (none: empty). Throws ConfigError for a file that cannot be read or
// parsed, and for a nested table or a value that is not a string, number or boolean.
std::map<std::string, Setting> load_plinth_settings(const std::filesystem::path& file);

}  // namespace plinth::hosting
