#include <algorithm>
#include <cctype>
#include <functional>
#include <map>
#include <cstdio>
#include <optional>
#include <regex>
#include <set>
#include <sstream>

#include <xxhash.h>

#include "model/text.hpp"
#include "model/types.hpp"
#include "plan/plan.hpp"

namespace plinth::plan {

using model::join;
using model::qualified;
using model::quote_ident;

bool Plan::blocked() const {
    return std::any_of(not_done.begin(), not_done.end(), [](const NotDone& n) { return n.blocking; });
}

std::vector<std::string> owned_schemas(const std::vector<model::Plugin>& plugins) {
    std::set<std::string> schemas;
    for (const auto& p : plugins) schemas.insert(p.schema);
    return {schemas.begin(), schemas.end()};
}

namespace {

// Bumped whenever the planner would plan differently for the same declarations, so a fast-path
// start does not trust a fingerprint taken under older rules.
constexpr const char* kPlannerVersion = "plinth-plan-1";

std::string hex64(std::uint64_t value) {
    char buffer[17];
    std::snprintf(buffer, sizeof buffer, "%016llx", static_cast<unsigned long long>(value));
    return buffer;
}

std::string column_list(const std::vector<std::string>& columns) {
    std::vector<std::string> quoted;
    for (const auto& c : columns) quoted.push_back(quote_ident(c));
    return "(" + join(quoted, ", ") + ")";
}

// A catalog default and a declared one, brought to one spelling: 'active'::text -> 'active',
// '-1'::integer -> -1, '{}'::jsonb -> '{}', NOW() -> now(). Outside quoted text, case does not matter.
std::string normalize_default(const std::string& sql) {
    static const std::regex cast(R"(^('(?:[^']|'')*')::[a-z_][a-z0-9_ ."]*(\([0-9, ]+\))?[a-z ]*(\[\])*$)");
    static const std::regex number(R"(^'(-?[0-9]+(\.[0-9]+)?)'$)");
    std::string folded;
    bool quoted = false;
    for (char c : sql) {
        if (c == '\'') quoted = !quoted;
        folded += quoted ? c : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    std::smatch m;
    std::string out = folded;
    if (std::regex_match(folded, m, cast)) out = m[1];
    if (std::regex_match(out, m, number)) out = m[1];
    return out;
}

// Functions whose default makes ADD COLUMN fill (rewrite) every existing row.
bool volatile_default(const std::string& sql) {
    for (const char* fn : {"gen_random_uuid", "random", "clock_timestamp", "timeofday", "uuid_generate", "nextval"})
        if (sql.find(fn) != std::string::npos) return true;
    return false;
}

char action_letter(model::FkAction a) {
    switch (a) {
        case model::FkAction::no_action: return 'a';
        case model::FkAction::restrict: return 'r';
        case model::FkAction::cascade: return 'c';
        case model::FkAction::set_null: return 'n';
        case model::FkAction::set_default: return 'd';
    }
    return 'a';
}

// A type change PostgreSQL makes without rewriting the table or losing data.
bool safe_type_change(const std::string& from, const std::string& to) {
    static const std::regex varchar(R"(^character varying(\((\d+)\))?$)");
    static const std::regex numeric(R"(^numeric\((\d+),(\d+)\)$)");
    std::smatch a, b;
    const bool from_varchar = std::regex_match(from, a, varchar);
    if (from_varchar && to == "text") return true;
    if (from == "text" && to == "character varying") return true;
    if (from_varchar && std::regex_match(to, b, varchar)) {
        if (!b[1].matched) return true;                       // to unlimited length
        if (!a[1].matched) return false;                      // from unlimited to limited
        return std::stoi(b[2].str()) >= std::stoi(a[2].str());  // longer
    }
    if (std::regex_match(from, a, numeric) && std::regex_match(to, b, numeric))
        return a[2] == b[2] && std::stoi(b[1].str()) >= std::stoi(a[1].str());
    return false;
}

std::string column_sql(const model::Column& c) {
    std::string out = quote_ident(c.name) + " " + model::canonical_type(c.type);
    if (c.default_sql) out += " DEFAULT " + *c.default_sql;
    if (c.not_null) out += " NOT NULL";
    return out;
}

std::string fk_sql(const model::ForeignKey& fk) {
    std::string out = "CONSTRAINT " + quote_ident(fk.name) + " FOREIGN KEY " + column_list(fk.columns) + " REFERENCES " +
                      qualified(fk.ref_schema, fk.ref_table) + " " + column_list(fk.ref_columns);
    if (fk.on_delete != model::FkAction::no_action) out += std::string(" ON DELETE ") + model::to_sql(fk.on_delete);
    if (fk.on_update != model::FkAction::no_action) out += std::string(" ON UPDATE ") + model::to_sql(fk.on_update);
    return out;
}

// "USING method (keys) [WHERE predicate]": what follows the table in CREATE INDEX.
std::string index_tail(const model::Index& idx) {
    std::vector<std::string> keys;
    for (const auto& k : idx.keys) keys.push_back(model::is_expression_key(k) ? k : quote_ident(k));
    std::string out = "USING " + idx.method + " (" + join(keys, ", ") + ")";
    if (idx.predicate) out += " WHERE " + *idx.predicate;
    return out;
}

std::string index_sql(const model::Table& t, const model::Index& idx, bool concurrently) {
    return std::string("CREATE ") + (idx.unique ? "UNIQUE " : "") + "INDEX " +
           (concurrently ? "CONCURRENTLY IF NOT EXISTS " : "") + quote_ident(idx.name) + " ON " +
           qualified(t.schema, t.name) + " " + index_tail(idx);
}

// pg_get_indexdef quotes a column only when it must; compare bare names.
std::string unquote(const std::string& key) {
    if (key.size() >= 2 && key.front() == '"' && key.back() == '"') return key.substr(1, key.size() - 2);
    return key;
}

bool plain_index(const model::Index& idx) {
    return !idx.predicate && std::none_of(idx.keys.begin(), idx.keys.end(), model::is_expression_key);
}

// Whether an index of the database matches a declared one. Expressions and predicates come back
// from the server in its own spelling, so for those only their place and presence are compared.
bool same_index(const model::Index& want, const model::ActualIndex& have) {
    if (want.unique != have.unique || want.method != have.method || want.keys.size() != have.keys.size() ||
        want.predicate.has_value() != have.predicate.has_value())
        return false;
    for (std::size_t i = 0; i < want.keys.size(); ++i) {
        const bool expression = model::is_expression_key(want.keys[i]);
        if (expression != have.expression_keys[i]) return false;
        if (!expression && want.keys[i] != unquote(have.keys[i])) return false;
    }
    return true;
}

bool same_fk(const model::ForeignKey& want, const model::ActualConstraint& have) {
    return have.kind == 'f' && have.columns == want.columns && have.ref_schema == want.ref_schema &&
           have.ref_table == want.ref_table && have.ref_columns == want.ref_columns &&
           have.on_delete == action_letter(want.on_delete) && have.on_update == action_letter(want.on_update);
}

// Desired tables as this server will hold them: vector(N) becomes real[] with a length check when
// pgvector is not available.
std::vector<model::Plugin> adapt_to_server(std::vector<model::Plugin> plugins, const model::ActualSchema& actual,
                                           std::vector<std::string>& notes) {
    if (actual.vector_available) return plugins;
    for (auto& p : plugins) {
        for (auto& t : p.tables) {
            for (auto& c : t.columns) {
                auto dims = model::vector_dimensions(model::canonical_type(c.type));
                if (!dims) continue;
                c.type = "real[]";
                std::string name = t.name + "_" + c.name + "_dims_check";
                if (name.size() > 63) name = name.substr(0, 46) + "_" + hex64(XXH3_64bits(name.data(), name.size()));
                const std::string col = quote_ident(c.name);
                t.checks.push_back({name, col + " IS NULL OR (array_ndims(" + col + ") = 1 AND array_length(" + col +
                                              ", 1) = " + std::to_string(*dims) + ")"});
                notes.push_back("the server has no pgvector extension: " + t.qualified_name() + "." + c.name +
                                " is real[] with a check of " + std::to_string(*dims) + " elements instead of vector(" +
                                std::to_string(*dims) + ")");
            }
        }
    }
    return plugins;
}

class Planner {
public:
    Planner(const std::vector<model::Plugin>& plugins, const order::Ordering& ordering,
            const model::ActualSchema& actual, const std::map<std::string, std::string>& skipped_tables,
            std::function<bool(const std::string&)> has_rows, std::function<std::int64_t(const std::string&)> count,
            std::function<std::optional<std::string>(const model::DeclaredDefault&)> server_default,
            std::function<std::optional<std::string>(const model::DeclaredDefinition&)> server_definition)
        : ordering_(ordering), actual_(actual), skipped_tables_(skipped_tables), has_rows_(std::move(has_rows)),
          count_(std::move(count)), server_default_(std::move(server_default)),
          server_definition_(std::move(server_definition)) {
        plugins_ = adapt_to_server(plugins, actual, plan_.notes);
    }

    Plan run() {
        plan_schemas();
        plan_extension();
        std::vector<Operation> foreign_keys, after_commit;
        for (const auto& ref : ordering_.tables) {
            const auto& plugin = plugins_[ref.plugin];
            const auto& table = plugin.tables[ref.table];
            if (const auto* existing = actual_.find_table(table.qualified_name()))
                plan_existing(plugin, table, *existing, foreign_keys, after_commit);
            else
                plan_new(plugin, table, foreign_keys);
        }
        for (auto& op : foreign_keys) plan_.operations.push_back(std::move(op));
        for (auto& op : after_commit) plan_.operations.push_back(std::move(op));
        plan_undeclared();
        return std::move(plan_);
    }

private:
    void add(const model::Plugin& p, const model::Table* t, std::string summary, std::string sql,
             std::vector<std::string> hazards = {}, Phase phase = Phase::transaction,
             std::vector<Operation>* into = nullptr) {
        Operation op{p.name, t ? t->qualified_name() : "", std::move(summary), std::move(sql), std::move(hazards), phase};
        (into ? *into : plan_.operations).push_back(std::move(op));
    }

    void not_done(const std::string& plugin, const std::string& table, std::string object, std::string reason,
                  std::string manual_sql, bool blocking = false) {
        plan_.not_done.push_back({plugin, table, std::move(object), std::move(reason), std::move(manual_sql), blocking});
    }

    void plan_schemas() {
        std::map<std::string, std::string> first_owner;
        for (const auto& p : plugins_) first_owner.emplace(p.schema, p.name);
        for (const auto& [schema, owner] : first_owner) {
            if (actual_.schemas.count(schema)) continue;
            plan_.operations.push_back({owner, "", "create schema " + schema,
                                        "CREATE SCHEMA IF NOT EXISTS " + quote_ident(schema), {}, Phase::transaction});
        }
    }

    void plan_extension() {
        if (!actual_.vector_available || actual_.vector_installed) return;
        for (const auto& p : plugins_)
            for (const auto& t : p.tables)
                for (const auto& c : t.columns)
                    if (model::vector_dimensions(model::canonical_type(c.type))) {
                        plan_.operations.push_back({p.name, "", "create extension vector",
                                                    "CREATE EXTENSION IF NOT EXISTS vector", {}, Phase::transaction});
                        return;
                    }
    }

    bool deferred(const model::Table& t, const model::ForeignKey& fk) const {
        for (const auto& d : ordering_.deferred)
            if (d.table == t.qualified_name() && d.name == fk.name) return true;
        return false;
    }

    void plan_new(const model::Plugin& p, const model::Table& t, std::vector<Operation>& foreign_keys) {
        const std::string name = t.qualified_name();
        if (actual_.relation_names.count(name)) {
            not_done(p.name, name, "", "the name is taken by another kind of relation (a view, sequence or index)",
                     "", true);
            return;
        }
        std::vector<std::string> parts;
        for (const auto& c : t.columns) parts.push_back(column_sql(c));
        parts.push_back("CONSTRAINT " + quote_ident(t.primary_key_name) + " PRIMARY KEY " + column_list(t.primary_key));
        for (const auto& u : t.uniques) parts.push_back("CONSTRAINT " + quote_ident(u.name) + " UNIQUE " + column_list(u.columns));
        for (const auto& ch : t.checks) parts.push_back("CONSTRAINT " + quote_ident(ch.name) + " CHECK (" + ch.expression + ")");
        for (const auto& fk : t.foreign_keys)
            if (!deferred(t, fk)) parts.push_back(fk_sql(fk));
        add(p, &t, "create table " + name,
            "CREATE TABLE " + qualified(t.schema, t.name) + " (\n  " + join(parts, ",\n  ") + "\n)");
        for (const auto& idx : t.indexes) add(p, &t, "create index " + idx.name + " on " + name, index_sql(t, idx, false));
        for (const auto& fk : t.foreign_keys)
            if (deferred(t, fk))
                add(p, &t, "add foreign key " + fk.name + " on " + name + " (closes a cycle)",
                    "ALTER TABLE " + qualified(t.schema, t.name) + " ADD " + fk_sql(fk), {}, Phase::transaction, &foreign_keys);
    }

    void plan_column(const model::Plugin& p, const model::Table& t, const model::Column& want,
                     const model::ActualColumn& have) {
        const std::string name = t.qualified_name();
        const std::string object = "column \"" + want.name + "\"";
        const std::string alter = "ALTER TABLE " + qualified(t.schema, t.name) + " ALTER COLUMN " + quote_ident(want.name);
        const std::string type = model::canonical_type(want.type);
        if (type != have.type) {
            if (safe_type_change(have.type, type))
                add(p, &t, "change type of " + name + "." + want.name + " from " + have.type + " to " + type,
                    alter + " TYPE " + type, {"no table rewrite: PostgreSQL only updates the catalog"});
            else
                not_done(p.name, name, object,
                         "type differs: the database has " + have.type + ", the plugin declares " + type +
                             "; the change could rewrite the table or lose data, so plinth leaves it",
                         alter + " TYPE " + type + " USING " + quote_ident(want.name) + "::" + type);
        }
        if (want.not_null != have.not_null)
            not_done(p.name, name, object,
                     std::string("nullability differs: the database has ") + (have.not_null ? "NOT NULL" : "NULL") +
                         ", the plugin declares " + (want.not_null ? "NOT NULL" : "NULL"),
                     alter + (want.not_null ? " SET NOT NULL" : " DROP NOT NULL"));
        const auto have_default = have.default_sql ? std::optional(normalize_default(*have.default_sql)) : std::nullopt;
        auto want_default = want.default_sql ? std::optional(normalize_default(*want.default_sql)) : std::nullopt;
        if (have_default && want_default && have_default != want_default) {
            // The server may spell the same default otherwise ('{"a":1}' as '{"a": 1}'::jsonb): ask it.
            if (auto server = server_default_({type, *want.default_sql})) want_default = normalize_default(*server);
        }
        if (have_default != want_default)
            not_done(p.name, name, object,
                     "default differs: the database has " + have.default_sql.value_or("no default") +
                         ", the plugin declares " + want.default_sql.value_or("no default"),
                     alter + (want.default_sql ? " SET DEFAULT " + *want.default_sql : " DROP DEFAULT"));
    }

    // The first table whose columns (names and types) are those of `table`: the server spells an
    // expression the same way on all of them, so it is asked once per distinct set of columns.
    const std::string& representative(const model::ActualTable& table) {
        std::string signature;
        for (const auto& c : table.columns) signature += c.name + ' ' + c.type + '\n';
        return representatives_.emplace(signature, table.schema + "." + table.name).first->second;
    }

    // Expression keys and predicates, as the server spells the declared ones on a copy of the table.
    bool same_spelling(const model::ActualTable& table, const model::Index& want, const model::ActualIndex& have) {
        if (plain_index(want)) return true;
        const auto declared = server_definition_({representative(table), 'i', index_tail(want)});
        return !declared || *declared == model::index_spelling(have.keys, have.predicate);
    }

    void plan_existing(const model::Plugin& p, const model::Table& t, const model::ActualTable& have,
                       std::vector<Operation>& foreign_keys, std::vector<Operation>& after_commit) {
        const std::string name = t.qualified_name();
        const std::string table_sql = qualified(t.schema, t.name);
        for (const auto& c : t.columns) {
            if (const auto* existing = have.find_column(c.name)) {
                plan_column(p, t, c, *existing);
                continue;
            }
            if (c.not_null && !c.default_sql && has_rows_(name)) {
                const auto rows = count_(name);
                not_done(p.name, name, "column \"" + c.name + "\"",
                         "refused: NOT NULL column without a default added to a table with " + std::to_string(rows) +
                             (rows == 1 ? " row" : " rows") + "; give it a default, or add it by hand and fill it",
                         "ALTER TABLE " + table_sql + " ADD COLUMN " + quote_ident(c.name) + " " +
                             model::canonical_type(c.type) + "; UPDATE " + table_sql + " SET " + quote_ident(c.name) +
                             " = ...; ALTER TABLE " + table_sql + " ALTER COLUMN " + quote_ident(c.name) + " SET NOT NULL",
                         true);
                continue;
            }
            const std::string add_sql = "ALTER TABLE " + table_sql + " ADD COLUMN ";
            if (c.default_sql && volatile_default(*c.default_sql) && has_rows_(name)) {
                // Filling existing rows from a volatile default rewrites the table; plinth never does.
                if (c.not_null) {
                    not_done(p.name, name, "column \"" + c.name + "\"",
                             "refused: a NOT NULL column whose default is volatile (" + *c.default_sql +
                                 ") would rewrite every row of the table",
                             add_sql + quote_ident(c.name) + " " + model::canonical_type(c.type) + "; UPDATE " + table_sql +
                                 " SET " + quote_ident(c.name) + " = " + *c.default_sql + "; ALTER TABLE " + table_sql +
                                 " ALTER COLUMN " + quote_ident(c.name) + " SET DEFAULT " + *c.default_sql +
                                 ", ALTER COLUMN " + quote_ident(c.name) + " SET NOT NULL",
                             true);
                    continue;
                }
                model::Column without_default = c;
                without_default.default_sql.reset();
                add(p, &t, "add column " + name + "." + c.name, add_sql + column_sql(without_default),
                    {"existing rows get NULL: their values are not generated from the volatile default"});
                add(p, &t, "set default of " + name + "." + c.name,
                    "ALTER TABLE " + table_sql + " ALTER COLUMN " + quote_ident(c.name) + " SET DEFAULT " + *c.default_sql);
                continue;
            }
            add(p, &t, "add column " + name + "." + c.name, add_sql + column_sql(c));
        }

        const model::ActualConstraint* pk = nullptr;
        for (const auto& [n, con] : have.constraints)
            if (con.kind == 'p') pk = &con;
        if (!pk)
            add(p, &t, "add primary key " + t.primary_key_name + " on " + name,
                "ALTER TABLE " + table_sql + " ADD CONSTRAINT " + quote_ident(t.primary_key_name) + " PRIMARY KEY " +
                    column_list(t.primary_key),
                has_rows_(name) ? std::vector<std::string>{"builds a unique index while blocking writes to " + name}
                                : std::vector<std::string>{});
        else if (pk->columns != t.primary_key)
            not_done(p.name, name, "primary key \"" + pk->name + "\"",
                     "primary key differs: the database has (" + join(pk->columns, ", ") + "), the plugin declares (" +
                         join(t.primary_key, ", ") + ")",
                     "ALTER TABLE " + table_sql + " DROP CONSTRAINT " + quote_ident(pk->name) + ", ADD CONSTRAINT " +
                         quote_ident(t.primary_key_name) + " PRIMARY KEY " + column_list(t.primary_key));

        for (const auto& u : t.uniques) {
            const bool present = std::any_of(have.constraints.begin(), have.constraints.end(), [&](const auto& kv) {
                return kv.second.kind == 'u' && kv.second.columns == u.columns;
            });
            if (present) continue;
            if (have.constraints.count(u.name)) {
                not_done(p.name, name, "unique constraint \"" + u.name + "\"",
                         "a constraint of that name exists with another definition: " + have.constraints.at(u.name).definition,
                         "ALTER TABLE " + table_sql + " DROP CONSTRAINT " + quote_ident(u.name) + ", ADD CONSTRAINT " +
                             quote_ident(u.name) + " UNIQUE " + column_list(u.columns));
                continue;
            }
            add(p, &t, "add unique constraint " + u.name + " on " + name,
                "ALTER TABLE " + table_sql + " ADD CONSTRAINT " + quote_ident(u.name) + " UNIQUE " + column_list(u.columns),
                has_rows_(name) ? std::vector<std::string>{"builds a unique index while blocking writes to " + name +
                                                           "; fails if existing rows are not unique"}
                                : std::vector<std::string>{});
        }

        for (const auto& ch : t.checks) {
            auto found = have.constraints.find(ch.name);
            if (found != have.constraints.end()) {
                // The server rewrites expressions (parentheses, casts), so it spells the declared one too.
                std::string definition = found->second.definition;
                if (const std::string suffix = " NOT VALID"; definition.ends_with(suffix))
                    definition.erase(definition.size() - suffix.size());
                const auto declared = server_definition_({representative(have), 'c', ch.expression});
                if (declared && *declared != definition) {
                    not_done(p.name, name, "check \"" + ch.name + "\"",
                             "a check of that name exists with another definition: the database has " + definition +
                                 ", the plugin declares " + *declared,
                             "ALTER TABLE " + table_sql + " DROP CONSTRAINT " + quote_ident(ch.name) + ", ADD CONSTRAINT " +
                                 quote_ident(ch.name) + " CHECK (" + ch.expression + ")");
                    continue;
                }
                if (!found->second.validated)
                    add(p, &t, "validate check " + ch.name + " on " + name,
                        "ALTER TABLE " + table_sql + " VALIDATE CONSTRAINT " + quote_ident(ch.name),
                        {"scans " + name + " without blocking writes"}, Phase::after_commit, &after_commit);
                continue;
            }
            const std::string add_sql = "ALTER TABLE " + table_sql + " ADD CONSTRAINT " + quote_ident(ch.name) +
                                        " CHECK (" + ch.expression + ")";
            if (has_rows_(name)) {
                add(p, &t, "add check " + ch.name + " on " + name + " (NOT VALID)", add_sql + " NOT VALID",
                    {"checked for new rows at once; existing rows are validated after the commit"});
                add(p, &t, "validate check " + ch.name + " on " + name,
                    "ALTER TABLE " + table_sql + " VALIDATE CONSTRAINT " + quote_ident(ch.name),
                    {"scans " + name + " without blocking writes; fails if existing rows violate it"},
                    Phase::after_commit, &after_commit);
            } else {
                add(p, &t, "add check " + ch.name + " on " + name, add_sql);
            }
        }

        for (const auto& idx : t.indexes) {
            auto found = have.indexes.find(idx.name);
            if (found == have.indexes.end()) {
                const bool elsewhere = actual_.relation_names.count(t.schema + "." + idx.name) > 0;
                // A plain index already there under another name (made by another tool) serves.
                const bool equivalent = plain_index(idx) && std::any_of(have.indexes.begin(), have.indexes.end(), [&](const auto& kv) {
                    return kv.second.valid && same_index(idx, kv.second);
                });
                if (equivalent) continue;
                if (elsewhere) {
                    not_done(p.name, name, "index \"" + idx.name + "\"",
                             "the name is taken by another relation in schema " + t.schema, "", true);
                    continue;
                }
                if (has_rows_(name))
                    add(p, &t, "create index " + idx.name + " on " + name + " (concurrently)", index_sql(t, idx, true),
                        {"built CONCURRENTLY after the commit: does not block writes; retried on the next start if interrupted"},
                        Phase::after_commit, &after_commit);
                else
                    add(p, &t, "create index " + idx.name + " on " + name, index_sql(t, idx, false));
                continue;
            }
            const auto& existing = found->second;
            if (!existing.valid && !existing.building) {
                const std::string idx_name = qualified(t.schema, idx.name);
                add(p, &t, "drop invalid index " + idx.name + " on " + name, "DROP INDEX CONCURRENTLY IF EXISTS " + idx_name,
                    {"the index was left invalid by an interrupted concurrent build and is rebuilt"},
                    Phase::after_commit, &after_commit);
                add(p, &t, "rebuild index " + idx.name + " on " + name + " (concurrently)", index_sql(t, idx, true),
                    {"built CONCURRENTLY after the commit: does not block writes"}, Phase::after_commit, &after_commit);
            } else if (!same_index(idx, existing) || !same_spelling(have, idx, existing)) {
                not_done(p.name, name, "index \"" + idx.name + "\"",
                         "an index of that name exists with another definition (" + existing.method + " on " +
                             model::index_spelling(existing.keys, existing.predicate) + ")",
                         "DROP INDEX CONCURRENTLY " + qualified(t.schema, idx.name) + "; " + index_sql(t, idx, true));
            }
        }

        for (const auto& fk : t.foreign_keys) {
            auto found = have.constraints.find(fk.name);
            const model::ActualConstraint* match = nullptr;
            for (const auto& [n, con] : have.constraints)
                if (same_fk(fk, con)) match = &con;
            if (match) {
                if (!match->validated)
                    add(p, &t, "validate foreign key " + match->name + " on " + name,
                        "ALTER TABLE " + table_sql + " VALIDATE CONSTRAINT " + quote_ident(match->name),
                        {"scans " + name + " without blocking writes; fails if rows have no match"}, Phase::after_commit,
                        &after_commit);
                continue;
            }
            if (found != have.constraints.end()) {
                not_done(p.name, name, "foreign key \"" + fk.name + "\"",
                         "a constraint of that name exists with another definition: " + found->second.definition,
                         "ALTER TABLE " + table_sql + " DROP CONSTRAINT " + quote_ident(fk.name) + ", ADD " + fk_sql(fk));
                continue;
            }
            const std::string add_sql = "ALTER TABLE " + table_sql + " ADD " + fk_sql(fk);
            if (has_rows_(name)) {
                add(p, &t, "add foreign key " + fk.name + " on " + name + " (NOT VALID)", add_sql + " NOT VALID",
                    {"checked for new rows at once; existing rows are validated after the commit"}, Phase::transaction,
                    &foreign_keys);
                add(p, &t, "validate foreign key " + fk.name + " on " + name,
                    "ALTER TABLE " + table_sql + " VALIDATE CONSTRAINT " + quote_ident(fk.name),
                    {"scans " + name + " without blocking writes; fails if rows have no match"}, Phase::after_commit,
                    &after_commit);
            } else {
                add(p, &t, "add foreign key " + fk.name + " on " + name, add_sql, {}, Phase::transaction, &foreign_keys);
            }
        }
    }

    // What the database has in the owned schemas that no plugin declares: reported, never dropped,
    // and no DROP suggested for tables: they may well belong to someone else.
    void plan_undeclared() {
        std::map<std::string, const model::Table*> declared;
        std::map<std::string, std::string> owner;
        for (const auto& p : plugins_)
            for (const auto& t : p.tables) {
                declared.emplace(t.qualified_name(), &t);
                owner.emplace(t.qualified_name(), p.name);
            }
        for (const auto& [name, have] : actual_.tables) {
            const std::string table_sql = qualified(have.schema, have.name);
            auto it = declared.find(name);
            if (it == declared.end()) {
                if (auto skipped = skipped_tables_.find(name); skipped != skipped_tables_.end())
                    not_done(skipped->second, name, "", "its plugin was skipped this run; left alone", "");
                else
                    not_done("", name, "", "not declared by any plugin; left alone", "");
                continue;
            }
            const model::Table& t = *it->second;
            for (const auto& c : have.columns)
                if (!t.find_column(c.name))
                    not_done(owner[name], name, "column \"" + c.name + "\"", "not declared by the plugin; left alone",
                             "ALTER TABLE " + table_sql + " DROP COLUMN " + quote_ident(c.name));
        }
    }

    std::vector<model::Plugin> plugins_;
    const order::Ordering& ordering_;
    const model::ActualSchema& actual_;
    const std::map<std::string, std::string>& skipped_tables_;
    std::function<bool(const std::string&)> has_rows_;
    std::function<std::int64_t(const std::string&)> count_;
    std::function<std::optional<std::string>(const model::DeclaredDefault&)> server_default_;
    std::function<std::optional<std::string>(const model::DeclaredDefinition&)> server_definition_;
    std::map<std::string, std::string> representatives_;  // column signature -> "schema.table"
    Plan plan_;
};

}  // namespace

Plan make_plan(const std::vector<model::Plugin>& plugins, const order::Ordering& ordering,
               const model::ActualSchema& actual, const model::DatabaseProbe& probe,
               const std::map<std::string, std::string>& skipped_tables) {
    // First pass: learn which questions the database must answer (which tables have rows, how the
    // server spells some defaults, checks and indexes), without asking. Then ask once for all of them and plan for
    // real. Planning is pure, so two passes cost nothing of note.
    std::set<std::string> tables_asked;
    std::set<model::DeclaredDefault> defaults_asked;
    std::set<model::DeclaredDefinition> definitions_asked;
    Planner(plugins, ordering, actual, skipped_tables,
            [&](const std::string& t) { tables_asked.insert(t); return false; },
            [](const std::string&) { return std::int64_t{0}; },
            [&](const model::DeclaredDefault& d) { defaults_asked.insert(d); return std::optional<std::string>(); },
            [&](const model::DeclaredDefinition& d) { definitions_asked.insert(d); return std::optional<std::string>(); })
        .run();
    std::map<std::string, bool> rows;
    if (!tables_asked.empty()) rows = probe.have_rows({tables_asked.begin(), tables_asked.end()});
    std::map<model::DeclaredDefault, std::optional<std::string>> defaults;
    if (!defaults_asked.empty()) defaults = probe.server_defaults({defaults_asked.begin(), defaults_asked.end()});
    std::map<model::DeclaredDefinition, std::optional<std::string>> definitions;
    if (!definitions_asked.empty())
        definitions = probe.server_definitions({definitions_asked.begin(), definitions_asked.end()});
    return Planner(plugins, ordering, actual, skipped_tables, [&](const std::string& t) { return rows[t]; }, probe.count,
                   [&](const model::DeclaredDefault& d) { return defaults[d]; },
                   [&](const model::DeclaredDefinition& d) { return definitions[d]; })
        .run();
}

std::string Plan::text() const {
    std::ostringstream out;
    std::size_t in_tx = 0;
    for (const auto& op : operations) in_tx += op.phase == Phase::transaction;
    if (operations.empty()) {
        out << "the database is up to date: nothing to apply\n";
    } else {
        out << "plan: " << operations.size() << " operation" << (operations.size() == 1 ? "" : "s") << " (" << in_tx
            << " in one transaction, " << operations.size() - in_tx << " after the commit)\n";
        std::size_t n = 0;
        for (const auto& op : operations) {
            out << "\n" << ++n << ". [" << op.plugin << "] " << op.summary
                << (op.phase == Phase::after_commit ? " -- after the commit" : "") << "\n";
            out << op.sql << ";\n";
            for (const auto& h : op.hazards) out << "-- hazard: " << h << "\n";
        }
    }
    if (!not_done.empty()) {
        out << "\nwill not do:\n";
        for (const auto& nd : not_done) {
            out << "- " << (nd.blocking ? "BLOCKING " : "") << (nd.plugin.empty() ? "" : "[" + nd.plugin + "] ") << nd.table
                << (nd.object.empty() ? "" : " " + nd.object) << ": " << nd.reason << "\n";
            if (!nd.manual_sql.empty()) out << "  by hand: " << nd.manual_sql << ";\n";
        }
    }
    if (!notes.empty()) {
        out << "\nnotes:\n";
        for (const auto& note : notes) out << "- " << note << "\n";
    }
    return out.str();
}

std::string schema_hash(const model::Plugin& p) {
    // Unit and record separators keep fields from running into each other.
    std::string s = p.name + '\x1f' + p.schema + '\x1e';
    auto list = [&](const std::vector<std::string>& items) { s += join(items, "\x1f") + '\x1e'; };
    for (const auto& t : p.tables) {
        s += "T" + t.name + '\x1e';
        for (const auto& c : t.columns)
            s += "C" + c.name + '\x1f' + model::canonical_type(c.type) + '\x1f' + c.default_sql.value_or("\x01") + '\x1f' +
                 (c.not_null ? "1" : "0") + '\x1e';
        s += "P" + t.primary_key_name + '\x1f';
        list(t.primary_key);
        for (const auto& u : t.uniques) { s += "U" + u.name + '\x1f'; list(u.columns); }
        for (const auto& i : t.indexes) {
            s += "I" + i.name + '\x1f' + (i.unique ? "1" : "0") + i.method + '\x1f' + i.predicate.value_or("\x01") + '\x1f';
            list(i.keys);
        }
        for (const auto& f : t.foreign_keys) {
            s += "F" + f.name + '\x1f' + f.ref_schema + '\x1f' + f.ref_table + '\x1f' + model::to_sql(f.on_delete) + '\x1f' +
                 model::to_sql(f.on_update) + '\x1f';
            list(f.columns);
            list(f.ref_columns);
        }
        for (const auto& c : t.checks) s += "K" + c.name + '\x1f' + c.expression + '\x1e';
    }
    return hex64(XXH3_64bits(s.data(), s.size()));
}

std::string desired_hash(const std::vector<model::Plugin>& plugins) {
    std::string s = kPlannerVersion;
    for (const auto& p : plugins) s += '\x1e' + p.name + '\x1f' + schema_hash(p);
    return hex64(XXH3_64bits(s.data(), s.size()));
}

}  // namespace plinth::plan
