#include "pipeline/plugin_set.hpp"

#include <spdlog/spdlog.h>

namespace plinth::pipeline {

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

PluginSet load_plugin_set(const std::filesystem::path& folder) {
    PluginSet set;
    set.folder = folder;
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

}  // namespace plinth::pipeline
