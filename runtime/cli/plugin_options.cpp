#include <filesystem>

#include "cli/commands.hpp"

namespace plinth::cli {

pipeline::PluginSet load_plugin_set(const PluginOptions& options) {
    return pipeline::load_plugin_set(options.plugins_dir.empty() ? pipeline::default_plugins_dir()
                                                                 : std::filesystem::path(options.plugins_dir));
}

}  // namespace plinth::cli
