// `plinth describe`: the tables of the valid plugins as an author needs them to reference them.
#include <algorithm>
#include <iostream>
#include <set>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "model/text.hpp"
#include "model/types.hpp"

namespace plinth::cli {
namespace {

using nlohmann::json;

json table_json(const model::Table& t) {
    json columns = json::array();
    for (const auto& c : t.columns)
        columns.push_back({{"name", c.name},
                           {"type", model::canonical_type(c.type)},
                           {"not_null", c.not_null || std::count(t.primary_key.begin(), t.primary_key.end(), c.name)},
                           {"default", c.default_sql ? json(*c.default_sql) : json(nullptr)}});
    json uniques = json::array();
    for (const auto& u : t.uniques) uniques.push_back({{"name", u.name}, {"columns", u.columns}});
    json indexes = json::array();
    for (const auto& i : t.indexes) {
        json index = {{"name", i.name}, {"unique", i.unique}, {"method", i.method}, {"keys", i.keys},
                      {"where", i.predicate ? json(*i.predicate) : json(nullptr)}};
        // Only where declared (ABI 1.3), so other indexes read as before.
        if (!i.opclasses.empty()) {
            std::vector<std::string> opclasses;
            for (std::size_t k = 0; k < i.keys.size(); ++k) opclasses.push_back(i.opclass(k));
            index["opclasses"] = opclasses;
        }
        if (!i.options.empty()) {
            json with = json::object();
            for (const auto& [name, value] : i.options) with[name] = value;
            index["with"] = with;
        }
        indexes.push_back(std::move(index));
    }
    json fks = json::array();
    for (const auto& f : t.foreign_keys)
        fks.push_back({{"name", f.name}, {"columns", f.columns}, {"references", f.ref_schema + "." + f.ref_table},
                       {"ref_columns", f.ref_columns}, {"on_delete", model::to_sql(f.on_delete)},
                       {"on_update", model::to_sql(f.on_update)}});
    json checks = json::array();
    for (const auto& c : t.checks) checks.push_back({{"name", c.name}, {"expression", c.expression}});
    return {{"name", t.qualified_name()}, {"columns", columns},
            {"primary_key", {{"name", t.primary_key_name}, {"columns", t.primary_key}}},
            {"unique", uniques}, {"indexes", indexes}, {"foreign_keys", fks}, {"checks", checks}};
}

void print_table(const json& t, std::ostream& os) {
    os << "  table " << t["name"].get<std::string>() << "\n";
    for (const auto& c : t["columns"]) {
        os << "    " << c["name"].get<std::string>() << " " << c["type"].get<std::string>();
        if (c["not_null"].get<bool>()) os << " NOT NULL";
        if (!c["default"].is_null()) os << " DEFAULT " << c["default"].get<std::string>();
        os << "\n";
    }
    const auto names = [](const json& list) { return model::join(list.get<std::vector<std::string>>(), ", "); };
    os << "    primary key " << t["primary_key"]["name"].get<std::string>() << " (" << names(t["primary_key"]["columns"])
       << ")\n";
    for (const auto& u : t["unique"])
        os << "    unique " << u["name"].get<std::string>() << " (" << names(u["columns"]) << ")\n";
    for (const auto& i : t["indexes"]) {
        auto keys = i["keys"].get<std::vector<std::string>>();
        if (i.contains("opclasses"))
            for (std::size_t k = 0; k < keys.size(); ++k)
                if (const auto opclass = i["opclasses"][k].get<std::string>(); !opclass.empty()) keys[k] += " " + opclass;
        os << "    " << (i["unique"].get<bool>() ? "unique index " : "index ") << i["name"].get<std::string>()
           << " using " << i["method"].get<std::string>() << " (" << model::join(keys, ", ") << ")";
        if (i.contains("with")) {
            std::vector<std::string> options;
            for (const auto& [name, value] : i["with"].items()) options.push_back(name + " = " + value.get<std::string>());
            os << " with (" << model::join(options, ", ") << ")";
        }
        if (!i["where"].is_null()) os << " where " << i["where"].get<std::string>();
        os << "\n";
    }
    for (const auto& f : t["foreign_keys"]) {
        os << "    foreign key " << f["name"].get<std::string>() << " (" << names(f["columns"]) << ") references "
           << f["references"].get<std::string>() << " (" << names(f["ref_columns"]) << ")";
        if (f["on_delete"] != "NO ACTION") os << " on delete " << f["on_delete"].get<std::string>();
        if (f["on_update"] != "NO ACTION") os << " on update " << f["on_update"].get<std::string>();
        os << "\n";
    }
    for (const auto& c : t["checks"])
        os << "    check " << c["name"].get<std::string>() << ": " << c["expression"].get<std::string>() << "\n";
}

}  // namespace

int describe(const DescribeOptions& options) {
    const pipeline::PluginSet set = load_plugin_set(options.plugins);
    pipeline::log_plugin_issues(set, options.plugins.strict);
    std::set<std::string> wanted(options.names.begin(), options.names.end());
    json plugins = json::array();
    for (std::size_t index : set.ordering.plugins) {
        const auto& p = set.validation.plugins[index];
        if (!wanted.empty() && !wanted.erase(p.name)) continue;
        json tables = json::array();
        for (const auto& t : p.tables) tables.push_back(table_json(t));
        plugins.push_back({{"name", p.name}, {"version", p.version}, {"schema", p.schema},
                           {"requires", p.requires_plugins}, {"file", p.file}, {"tables", tables}});
    }
    if (options.format == "json") {
        std::cout << json{{"plugins", plugins}}.dump(2) << "\n";
    } else {
        for (const auto& p : plugins) {
            std::cout << "plugin " << p["name"].get<std::string>() << " " << p["version"].get<std::string>()
                      << " (schema " << p["schema"].get<std::string>() << ", " << p["file"].get<std::string>() << ")\n";
            if (!p["requires"].empty())
                std::cout << "  requires " << model::join(p["requires"].get<std::vector<std::string>>(), ", ") << "\n";
            for (const auto& t : p["tables"]) print_table(t, std::cout);
        }
    }
    for (const auto& missing : wanted)
        std::cerr << "plinth describe: no valid plugin named \"" << missing << "\" in " << pipeline::describe_folders(set)
                  << "\n";
    return wanted.empty() ? 0 : 1;
}

}  // namespace plinth::cli
