#include "plan/rename.hpp"

#include <algorithm>

#include "model/text.hpp"
#include "plan/ddl.hpp"
#include "plan/render.hpp"

namespace plinth::plan {
namespace {

using model::qualified;
using model::quote_ident;

void replace_all(std::vector<std::string>& names, const std::string& from, const std::string& to) {
    std::replace(names.begin(), names.end(), from, to);
}

void rename_table(model::ActualSchema& actual, const std::string& schema, const std::string& from, const std::string& to) {
    auto node = actual.tables.extract(schema + "." + from);
    node.key() = schema + "." + to;
    node.mapped().name = to;
    actual.tables.insert(std::move(node));
    actual.relation_names.erase(schema + "." + from);
    actual.relation_names.insert(schema + "." + to);
    for (auto& [key, table] : actual.tables)
        for (auto& [name, constraint] : table.constraints)
            if (constraint.kind == 'f' && constraint.ref_schema == schema && constraint.ref_table == from)
                constraint.ref_table = to;
}

void rename_column(model::ActualSchema& actual, model::ActualTable& table, const std::string& from, const std::string& to) {
    for (auto& c : table.columns)
        if (c.name == from) c.name = to;
    for (auto& [name, constraint] : table.constraints) replace_all(constraint.columns, from, to);
    for (auto& [name, index] : table.indexes)
        for (std::size_t k = 0; k < index.keys.size(); ++k)
            if (k >= index.expression_keys.size() || !index.expression_keys[k])
                if (index.keys[k] == from) index.keys[k] = to;
    for (auto& [key, other] : actual.tables)
        for (auto& [name, constraint] : other.constraints)
            if (constraint.kind == 'f' && constraint.ref_schema == table.schema && constraint.ref_table == table.name)
                replace_all(constraint.ref_columns, from, to);
}

Operation rename_operation(const model::Plugin& p, const std::string& table, const std::string& locked,
                           std::string summary, std::string sql) {
    Operation op{p.name, table, std::move(summary), std::move(sql), {}, Phase::transaction, {}};
    op.hazards.push_back(hazard(HazardKind::renamed, table));
    op.hazards.push_back(hazard(HazardKind::locks_existing_table, locked, "ACCESS EXCLUSIVE"));
    op.locks.push_back({locked, "ACCESS EXCLUSIVE"});
    return op;
}

}  // namespace

Renames plan_renames(const std::vector<model::Plugin>& plugins, model::ActualSchema& actual) {
    Renames out;
    for (const auto& p : plugins)
        for (const auto& t : p.tables) {
            if (!t.renamed_from) continue;
            const std::string name = t.qualified_name(), old = t.schema + "." + *t.renamed_from;
            const bool have_old = actual.find_table(old) != nullptr, have_new = actual.relation_names.count(name) > 0;
            if (have_old && have_new) {
                out.not_done.push_back({p.name, name, "",
                                        "declared as renamed from " + old + ", but both " + old + " and " + name +
                                            " exist: plinth renames only when the old name exists and the new one does "
                                            "not; keep what you need from " + old + " in " + name + " and drop " + old +
                                            " by hand",
                                        "", true});
                continue;
            }
            if (!have_old || have_new) continue;
            out.operations.push_back(rename_operation(p, name, old, "rename table " + old + " to " + name,
                                                      "ALTER TABLE " + qualified(t.schema, *t.renamed_from) +
                                                          " RENAME TO " + quote_ident(t.name)));
            rename_table(actual, t.schema, *t.renamed_from, t.name);
            out.real_names[name] = old;
        }
    for (const auto& p : plugins)
        for (const auto& t : p.tables) {
            const std::string name = t.qualified_name();
            const auto found = actual.tables.find(name);
            if (found == actual.tables.end()) continue;
            auto& have = found->second;
            for (const auto& c : t.columns) {
                if (!c.renamed_from) continue;
                const bool have_old = have.find_column(*c.renamed_from) != nullptr, have_new = have.find_column(c.name) != nullptr;
                if (have_old && have_new) {
                    out.not_done.push_back({p.name, name, "column \"" + c.name + "\"",
                                            "declared as renamed from \"" + *c.renamed_from + "\", but both columns \"" +
                                                *c.renamed_from + "\" and \"" + c.name +
                                                "\" exist: plinth renames only when the old name exists and the new one "
                                                "does not; move what you need into \"" + c.name + "\" and drop \"" +
                                                *c.renamed_from + "\" by hand",
                                            "", true});
                    continue;
                }
                if (!have_old) continue;
                const auto real = out.real_names.count(name) ? out.real_names.at(name) : name;
                out.operations.push_back(rename_operation(
                    p, name, real, "rename column " + name + "." + *c.renamed_from + " to " + c.name,
                    alter_table_sql(t) + " RENAME COLUMN " + quote_ident(*c.renamed_from) + " TO " + quote_ident(c.name)));
                rename_column(actual, have, *c.renamed_from, c.name);
            }
        }
    return out;
}

}  // namespace plinth::plan
