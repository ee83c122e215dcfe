#include "cli/plugin_set.hpp"

#include <cstdlib>

#include <spdlog/spdlog.h>

namespace plinth::cli {

void add_plugin_options(CLI::App& command, PluginOptions& options) {
    command.add_option("--plugins", options.plugins_dir, "Folder of plugin .so files")
        ->envname("PLINTH_PLUGINS_DIR");
    command.add_flag("--strict", options.strict, "Fail the run when any plugin is refused, invalid or skipped");
}

std::filesystem::path default_plugins_dir() {
    std::error_code ec;
    auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        auto beside = exe.parent_path().parent_path() / "plugins";
        if (std::filesystem::is_directory(beside, ec)) return beside;
        auto installed = exe.parent_path().parent_path() / "lib" / "plinth" / "plugins";
        if (std::filesystem::is_directory(installed, ec)) return installed;
    }
    return "plugins";
}

PluginSet load_plugin_set(const PluginOptions& options) {
    PluginSet set;
    set.folder = options.plugins_dir.empty() ? default_plugins_dir() : std::filesystem::path(options.plugins_dir);
    set.loaded = load::load_folder(set.folder);
    set.validation = validate::validate(std::move(set.loaded.plugins));
    set.loaded.plugins.clear();
    set.ordering = order::order(set.validation.plugins);
    return set;
}

void log_plugin_issues(const PluginSet& set, bool strict) {
    const auto level = strict ? spdlog::level::err : spdlog::level::warn;
    for (const auto& r : set.loaded.refusals) spdlog::log(level, "refused {}", r.message());
    for (const auto& p : set.validation.problems) spdlog::log(level, "{}", p.text());
    for (const auto& s : set.validation.skipped) spdlog::log(level, "{}", s.text());
}

}  // namespace plinth::cli
