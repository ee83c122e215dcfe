#include "cli/plugin_options.hpp"

#include <CLI/CLI.hpp>

namespace plinth::cli {

void add_plugin_options(CLI::App& command, PluginOptions& options) {
    command.add_option("--plugins", options.plugins_dir, "Folder of plugin .so files")
        ->envname("PLINTH_PLUGINS_DIR");
    command.add_flag("--strict", options.strict, "Fail the run when any plugin is refused, invalid or skipped");
}

pipeline::PluginSet load_plugin_set(const PluginOptions& options) {
    return pipeline::load_plugin_set(options.plugins_dir.empty() ? pipeline::default_plugins_dir()
                                                                 : std::filesystem::path(options.plugins_dir));
}

}  // namespace plinth::cli
