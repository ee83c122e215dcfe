#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"

namespace plinth::cli {
namespace {

nlohmann::json to_json(const pipeline::PluginSet& set) {
    using nlohmann::json;
    const auto& plugins = set.validation.plugins;
    json out;
    out["plugins_dirs"] = json::array();
    for (const auto& folder : set.folders) out["plugins_dirs"].push_back(folder.string());
    out["valid"] = set.all_valid();
    out["plugins"] = json::array();
    for (std::size_t p : set.ordering.plugins) {
        const auto& plugin = plugins[p];
        json tables = json::array();
        for (std::size_t i = 0; i < set.ordering.tables.size(); ++i) {
            const auto& ref = set.ordering.tables[i];
            if (ref.plugin == p)
                tables.push_back({{"position", i + 1}, {"table", plugin.tables[ref.table].qualified_name()}});
        }
        out["plugins"].push_back({{"name", plugin.name}, {"version", plugin.version}, {"schema", plugin.schema},
                                  {"file", plugin.file}, {"requires", plugin.requires_plugins}, {"tables", tables}});
    }
    out["creation_order"] = json::array();
    for (const auto& ref : set.ordering.tables)
        out["creation_order"].push_back(plugins[ref.plugin].tables[ref.table].qualified_name());
    out["deferred_foreign_keys"] = json::array();
    for (const auto& d : set.ordering.deferred) out["deferred_foreign_keys"].push_back({{"table", d.table}, {"name", d.name}});
    out["cycles"] = set.ordering.cycles;
    out["refused"] = json::array();
    for (const auto& r : set.loaded.refusals) out["refused"].push_back({{"file", r.file}, {"reason", r.reason}});
    out["warnings"] = json::array();
    for (const auto& w : set.loaded.warnings) out["warnings"].push_back({{"file", w.file}, {"text", w.text}});
    out["problems"] = json::array();
    for (const auto& pr : set.validation.problems)
        out["problems"].push_back({{"file", pr.file}, {"plugin", pr.plugin}, {"table", pr.table},
                                   {"item", pr.item}, {"message", pr.message}, {"location", pr.location},
                                   {"text", pr.text()}});
    out["skipped"] = json::array();
    for (const auto& s : set.validation.skipped)
        out["skipped"].push_back({{"file", s.file}, {"plugin", s.plugin}, {"reason", s.reason}});
    return out;
}

void print_text(const pipeline::PluginSet& set, std::ostream& os) {
    const auto& plugins = set.validation.plugins;
    os << (set.folders.size() == 1 ? "plugins folder: " : "plugins folders: ") << pipeline::describe_folders(set)
       << "\n";
    os << plugins.size() << " valid plugin" << (plugins.size() == 1 ? "" : "s")
       << " in initialisation order, tables numbered in creation order:\n";
    for (std::size_t p : set.ordering.plugins) {
        const auto& plugin = plugins[p];
        os << "  " << plugin.name << " " << plugin.version << " (schema " << plugin.schema << ", "
           << plugin.file << ")";
        if (!plugin.requires_plugins.empty()) {
            os << " requires";
            for (const auto& r : plugin.requires_plugins) os << " " << r;
        }
        os << "\n";
        for (std::size_t i = 0; i < set.ordering.tables.size(); ++i) {
            const auto& ref = set.ordering.tables[i];
            if (ref.plugin == p) os << "    " << (i + 1) << ". " << plugin.tables[ref.table].qualified_name() << "\n";
        }
    }
    if (!set.ordering.cycles.empty()) {
        os << "foreign key cycles (created without the constraints that close them):\n";
        for (const auto& cycle : set.ordering.cycles) {
            os << "  ";
            for (std::size_t i = 0; i < cycle.size(); ++i) os << (i ? " <-> " : "") << cycle[i];
            os << "\n";
        }
    }
    if (!set.ordering.deferred.empty()) {
        os << "deferred foreign keys (added after every table exists):\n";
        for (const auto& d : set.ordering.deferred) os << "  " << d.table << " " << d.name << "\n";
    }
    if (!set.loaded.refusals.empty()) {
        os << "refused files:\n";
        for (const auto& r : set.loaded.refusals) os << "  " << r.message() << "\n";
    }
    if (!set.loaded.warnings.empty()) {
        os << "warnings:\n";
        for (const auto& w : set.loaded.warnings) os << "  " << w.message() << "\n";
    }
    if (!set.validation.problems.empty()) {
        os << "problems:\n";
        for (const auto& pr : set.validation.problems) os << "  " << pr.text() << "\n";
    }
    if (!set.validation.skipped.empty()) {
        os << "skipped plugins:\n";
        for (const auto& s : set.validation.skipped) os << "  " << s.text() << "\n";
    }
    os << (set.all_valid() ? "all plugins are valid\n" : "some plugins are not valid\n");
}

}  // namespace

int check(const CheckOptions& options) {
    const pipeline::PluginSet set = load_plugin_set(options.plugins);
    if (options.format == "json")
        std::cout << to_json(set).dump(2) << "\n";
    else
        print_text(set, std::cout);
    return set.all_valid() ? 0 : 1;
}

}  // namespace plinth::cli
