#include <cstdlib>
#include <filesystem>

#include "cli/commands.hpp"

namespace plinth::cli {

std::vector<std::filesystem::path> plugin_folders(const PluginOptions& options) {
    if (!options.plugins_dirs.empty()) return {options.plugins_dirs.begin(), options.plugins_dirs.end()};
    if (const char* path = std::getenv("PLINTH_PLUGINS_PATH"); path && *path) {
        auto folders = pipeline::split_path_list(path);
        if (!folders.empty()) return folders;
    }
    if (const char* dir = std::getenv("PLINTH_PLUGINS_DIR"); dir && *dir) return {dir};
    return {pipeline::default_plugins_dir()};
}

pipeline::PluginSet load_plugin_set(const PluginOptions& options) {
    pipeline::ProbeOptions probe;
    probe.enabled = options.load_probe;
    return pipeline::load_plugin_set(plugin_folders(options), probe);
}

}  // namespace plinth::cli
