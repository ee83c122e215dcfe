#include "pipeline/plugin_set.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include <sys/stat.h>

#include <spdlog/spdlog.h>
#include <xxhash.h>


#include "model/text.hpp"

namespace plinth::pipeline {

std::filesystem::path default_plugins_dir() {
    std::error_code ec;
    const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) return "plugins";
    auto beside = exe.parent_path().parent_path() / "plugins";
    if (std::filesystem::is_directory(beside, ec)) return beside;
    return (exe.parent_path() / PLINTH_PLUGINS_DIR_FROM_BINDIR).lexically_normal();
}

std::vector<std::filesystem::path> split_path_list(const std::string& list) {
    std::vector<std::filesystem::path> folders;
    std::size_t start = 0;
    while (start <= list.size()) {
        auto end = list.find(':', start);
        if (end == std::string::npos) end = list.size();
        if (end > start) folders.emplace_back(list.substr(start, end - start));
        start = end + 1;
    }
    return folders;
}

std::optional<std::string> plugins_key(const std::vector<std::filesystem::path>& files,
                                       const std::vector<std::optional<std::uint64_t>>& digests) {
    if (digests.size() != files.size()) return std::nullopt;
    XXH3_state_t* state = XXH3_createState();
    XXH3_64bits_reset(state);
    bool complete = true;
    for (std::size_t i = 0; i < files.size(); ++i) {
        struct stat st {};
        if (!digests[i] || ::stat(files[i].c_str(), &st) != 0) {
            complete = false;
            break;
        }
        const std::string& path = files[i].native();
        const std::uint64_t fields[] = {path.size(), static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino),
                                        static_cast<std::uint64_t>(st.st_size), static_cast<std::uint64_t>(st.st_mtim.tv_sec),
                                        static_cast<std::uint64_t>(st.st_mtim.tv_nsec), *digests[i]};
        XXH3_64bits_update(state, path.data(), path.size());
        XXH3_64bits_update(state, fields, sizeof fields);
    }
    const std::uint64_t hash = XXH3_64bits_digest(state);
    XXH3_freeState(state);
    if (!complete) return std::nullopt;
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
    return std::string(hex);
}

PluginSet load_plugin_set(const std::vector<std::filesystem::path>& folders, const ProbeOptions& probe) {
    return load_plugin_set(folders, probe_files(plugin_files(folders), probe));
}

PluginSet load_plugin_set(const std::vector<std::filesystem::path>& folders, const ProbeResult& probed) {
    PluginSet set;
    set.folders = folders;
    set.stopped = probed.stopped;
    std::map<std::string, std::string> refused;  // by file
    for (const auto& r : probed.refusals) refused.emplace(r.file, r.reason);
    const load::Screen screen = [&refused](const std::filesystem::path& file) -> std::optional<std::string> {
        const auto found = refused.find(file.string());
        if (found == refused.end()) return std::nullopt;
        return found->second;
    };
    for (const auto& folder : folders) {
        auto loaded = load::load_folder(folder, refused.empty() ? load::Screen() : screen);
        for (auto& p : loaded.plugins) set.loaded.plugins.push_back(std::move(p));
        for (auto& r : loaded.refusals) set.loaded.refusals.push_back(std::move(r));
        for (auto& w : loaded.warnings) set.loaded.warnings.push_back(std::move(w));
    }
    if (set.loaded.refusals.empty() && set.loaded.warnings.empty()) {
        std::vector<std::filesystem::path> files;
        std::vector<std::optional<std::uint64_t>> digests;
        for (const auto& p : set.loaded.plugins) {
            files.emplace_back(p.file);
            digests.emplace_back(p.digest);
        }
        set.plugins_key = plugins_key(files, digests);
    }
    set.validation = validate::validate(std::move(set.loaded.plugins));
    set.loaded.plugins.clear();
    set.ordering = order::order(set.validation.plugins);
    return set;
}

std::vector<validate::Skip> refuse(PluginSet& set, std::vector<validate::Problem> problems) {
    std::vector<validate::Skip> added;
    if (problems.empty()) return added;
    auto& plugins = set.validation.plugins;
    std::map<std::string, std::size_t> count;  // by plugin name: valid plugins have unique names
    for (const auto& p : problems) ++count[p.plugin];
    const auto tables_of = [](const model::Plugin& p) {
        std::vector<std::string> names;
        for (const auto& t : p.tables) names.push_back(t.qualified_name());
        return names;
    };
    std::set<std::string> refused;
    for (const auto& p : plugins)
        if (auto n = count[p.name]) {
            added.push_back({p.file, p.name, std::to_string(n) + (n == 1 ? " problem" : " problems") +
                                                 " in its declared SQL, found by the server", tables_of(p)});
            refused.insert(p.name);
        }
    for (bool changed = true; changed;) {
        changed = false;
        for (const auto& p : plugins) {
            if (refused.count(p.name)) continue;
            for (const auto& r : p.requires_plugins)
                if (refused.count(r)) {
                    added.push_back({p.file, p.name, "requires plugin \"" + r + "\", which was skipped", tables_of(p)});
                    refused.insert(p.name);
                    changed = true;
                    break;
                }
        }
    }
    std::vector<model::Plugin> kept;
    for (auto& p : plugins)
        if (!refused.count(p.name)) kept.push_back(std::move(p));
    plugins = std::move(kept);
    for (auto& p : problems) set.validation.problems.push_back(std::move(p));
    std::stable_sort(set.validation.problems.begin(), set.validation.problems.end(),
                     [](const validate::Problem& a, const validate::Problem& b) {
                         return a.plugin != b.plugin ? a.plugin < b.plugin : a.file < b.file;
                     });
    for (const auto& skip : added) set.validation.skipped.push_back(skip);
    set.ordering = order::order(plugins);
    return added;
}

std::string describe_folders(const PluginSet& set) {
    std::vector<std::string> names;
    for (const auto& f : set.folders) names.push_back(f.string());
    return model::join(names, ", ");
}

void log_plugin_issues(const PluginSet& set, bool strict) {
    const auto level = strict ? spdlog::level::err : spdlog::level::warn;
    for (const auto& r : set.loaded.refusals) spdlog::log(level, "refused {}", r.message());
    for (const auto& w : set.loaded.warnings) spdlog::warn("{}", w.message());
    for (const auto& p : set.validation.problems) spdlog::log(level, "{}", p.text());
    for (const auto& s : set.validation.skipped) spdlog::log(level, "{}", s.text());
}

}  // namespace plinth::pipeline
