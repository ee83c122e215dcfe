// The plugin options every command shares: --plugins DIR and --strict.
#pragma once

#include <string>

#include "pipeline/plugin_set.hpp"

namespace CLI {
class App;
}

namespace plinth::cli {

struct PluginOptions {
    std::string plugins_dir;  // empty: pipeline::default_plugins_dir()
    bool strict = false;
};

// Adds --plugins DIR and --strict to a command.
void add_plugin_options(CLI::App& command, PluginOptions& options);

// The plugin set of the folder the options name.
pipeline::PluginSet load_plugin_set(const PluginOptions& options);

}  // namespace plinth::cli
