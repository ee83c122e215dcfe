#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>

#include "model/text.hpp"
#include "model/types.hpp"
#include "plan/adapt.hpp"
#include "plan/compare.hpp"
#include "plan/ddl.hpp"
#include "plan/hash.hpp"
#include "plan/plan.hpp"
#include "plan/rename.hpp"
#include "plan/render.hpp"

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

// The database's answers, one question at a time: the first pass records the questions and
// answers "no rows, no spelling"; the second answers from what the probe said.
struct Answers {
    std::function<bool(const std::string&)> has_rows;
    std::function<std::int64_t(const std::string&)> count;
    std::function<std::int64_t(const std::string&)> total_bytes;
    std::function<std::optional<std::string>(const model::DeclaredDefault&)> server_default;
    std::function<std::optional<std::string>(const model::DeclaredDefinition&)> server_definition;
    std::function<bool(const model::DeclaredDefault&)> volatile_default;
};

class Planner {
public:
    Planner(const std::vector<model::Plugin>& plugins, const order::Ordering& ordering,
            const model::ActualSchema& actual, const std::map<std::string, std::string>& skipped_tables,
            const PlanOptions& options, Answers answers)
        : ordering_(ordering), actual_(actual), skipped_tables_(skipped_tables), options_(options),
          answers_(std::move(answers)) {
        plugins_ = adapt_to_server(plugins, actual, plan_.notes, plan_.not_done);
        // From here on actual_ is the database as the renames leave it; they run first of the
        // operations that lock existing tables.
        auto renames = plan_renames(plugins_, actual_);
        locking_ = std::move(renames.operations);
        for (auto& nd : renames.not_done) plan_.not_done.push_back(std::move(nd));
        if (!renames.real_names.empty()) ask_under_real_names(std::move(renames.real_names));
    }

    Plan run() {
        plan_schemas();
        plan_extension();
        for (const auto& ref : ordering_.tables) {
            const auto& plugin = plugins_[ref.plugin];
            const auto& table = plugin.tables[ref.table];
            if (const auto* existing = actual_.find_table(table.qualified_name()))
                plan_existing_table(plugin, table, *existing);
            else
                plan_new_table(plugin, table);
        }
        // Operations locking tables that existed come last, just before the commit, so the writers of
        // those tables wait only for the end of the transaction; keys after the ALTERs, as a key may
        // need a column or unique constraint one of them adds.
        for (auto& op : foreign_keys_)
            if (op.locks.empty()) plan_.operations.push_back(std::move(op));
        for (auto& op : locking_) plan_.operations.push_back(std::move(op));
        for (auto& op : foreign_keys_)
            if (!op.locks.empty()) plan_.operations.push_back(std::move(op));
        for (auto& op : after_commit_) plan_.operations.push_back(std::move(op));
        plan_undeclared();
        return std::move(plan_);
    }

private:
    // Until the commit, a renamed table has its old name: questions about it are asked under that.
    void ask_under_real_names(std::map<std::string, std::string> real_names) {
        auto real = [names = std::move(real_names)](const std::string& table) {
            const auto it = names.find(table);
            return it == names.end() ? table : it->second;
        };
        answers_.has_rows = [real, inner = answers_.has_rows](const std::string& t) { return inner(real(t)); };
        answers_.count = [real, inner = answers_.count](const std::string& t) { return inner(real(t)); };
        answers_.server_definition = [real, inner = answers_.server_definition](model::DeclaredDefinition d) {
            d.table = real(d.table);
            return inner(d);
        };
    }

    // The locks `table` takes if it existed before, with their hazards.
    void lock_if_existing(Operation& op, const std::string& table, const std::string& mode) const {
        if (!actual_.find_table(table)) return;
        op.locks.push_back({table, mode});
        op.hazards.push_back(hazard(HazardKind::locks_existing_table, table, mode));
    }

    // In the transaction, in table creation order; on a table that existed, `mode` is the lock it
    // takes, and it waits for the end (see run).
    // Returns the operation, for its kind to be set.
    Operation& add(const model::Plugin& p, const model::Table& t, std::string summary, std::string sql,
                   std::vector<Hazard> hazards = {}, const std::string& mode = "ACCESS EXCLUSIVE") {
        Operation op{p.name, t.qualified_name(), std::move(summary), std::move(sql), std::move(hazards), Phase::transaction, {}};
        lock_if_existing(op, op.table, mode);
        auto& list = op.locks.empty() ? plan_.operations : locking_;
        list.push_back(std::move(op));
        return list.back();
    }

    // In the transaction once every table exists, so a key may reference a table created later.
    // Adding a key locks both tables SHARE ROW EXCLUSIVE.
    void add_foreign_key(const model::Plugin& p, const model::Table& t, const model::ForeignKey& fk,
                         std::string summary, std::string sql, std::vector<Hazard> hazards = {}) {
        Operation op{p.name, t.qualified_name(), std::move(summary), std::move(sql), std::move(hazards), Phase::transaction, {}};
        lock_if_existing(op, op.table, "SHARE ROW EXCLUSIVE");
        if (const auto target = fk.ref_schema + "." + fk.ref_table; target != op.table)
            lock_if_existing(op, target, "SHARE ROW EXCLUSIVE");
        foreign_keys_.push_back(std::move(op));
    }

    void add_after_commit(const model::Plugin& p, const model::Table& t, std::string summary, std::string sql,
                          std::vector<Hazard> hazards) {
        after_commit_.push_back({p.name, t.qualified_name(), std::move(summary), std::move(sql), std::move(hazards),
                                 Phase::after_commit, {}});
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
                                        "CREATE SCHEMA IF NOT EXISTS " + quote_ident(schema), {}, Phase::transaction, {}});
        }
    }

    // pgvector is created when a column or index needs it, in the transaction. A role that may not
    // create it (pgvector is not a trusted extension) blocks the run instead: falling back to real[]
    // would fix that choice for the life of the database because of a missing privilege.
    void plan_extension() {
        if (!actual_.vector_available || actual_.vector_installed) return;
        for (const auto& p : plugins_)
            for (const auto& t : p.tables)
                if (needs_pgvector(t)) {
                    if (!actual_.vector_creatable) {
                        not_done(p.name, t.qualified_name(), "",
                                 "needs the pgvector extension, which the server offers, but role \"" + actual_.role +
                                     "\" may not create it (only a superuser may: vector is not a trusted extension); "
                                     "a superuser must run this in database \"" + actual_.database +
                                     "\", then plinth can migrate",
                                 "CREATE EXTENSION vector", true);
                        return;
                    }
                    // In public, on every role's default search_path, where the DDL finds its types.
                    // Left to the server, it would go to the first schema of search_path, "$user":
                    // plinth's journal schema when the role is named plinth.
                    Operation op{p.name, "", "create extension vector",
                                 "CREATE EXTENSION IF NOT EXISTS vector SCHEMA public", {}, Phase::transaction, {}};
                    op.kind = OperationKind::create_extension;
                    plan_.operations.push_back(std::move(op));
                    return;
                }
    }

    static bool needs_pgvector(const model::Table& t) {
        return std::any_of(t.columns.begin(), t.columns.end(),
                           [](const model::Column& c) { return model::needs_pgvector(model::canonical_type(c.type)); }) ||
               std::any_of(t.indexes.begin(), t.indexes.end(),
                           [](const model::Index& idx) { return model::similarity_method(idx.method); });
    }

    // A column declared as a pgvector type that the database holds as real[]: the table was made on a
    // server without pgvector. plinth never converts it by itself.
    static bool awaits_conversion(const model::Column& want, const model::ActualColumn& have) {
        return model::needs_pgvector(model::canonical_type(want.type)) && have.type == "real[]";
    }

    // The first column a similarity index reads that still awaits its conversion, if any.
    static const model::Column* unconverted_key(const model::Table& t, const model::Index& idx,
                                                const model::ActualTable& have) {
        if (!model::similarity_method(idx.method)) return nullptr;
        for (const auto& c : t.columns) {
            const auto* existing = have.find_column(c.name);
            if (!existing || !awaits_conversion(c, *existing)) continue;
            for (const auto& key : idx.keys)
                if (key == c.name || (model::is_expression_key(key) && key.find(c.name) != std::string::npos)) return &c;
        }
        return nullptr;
    }

    bool deferred(const model::Table& t, const model::ForeignKey& fk) const {
        for (const auto& d : ordering_.deferred)
            if (d.table == t.qualified_name() && d.name == fk.name) return true;
        return false;
    }

    void plan_new_table(const model::Plugin& p, const model::Table& t) {
        const std::string name = t.qualified_name();
        if (actual_.relation_names.count(name)) {
            not_done(p.name, name, "", "the name is taken by another kind of relation (a view, sequence or index)",
                     "", true);
            return;
        }
        // A key into a table that existed locks it against its writers: added at the end instead.
        const auto into_existing = [&](const model::ForeignKey& fk) {
            return actual_.find_table(fk.ref_schema + "." + fk.ref_table) != nullptr;
        };
        std::vector<model::ForeignKey> inline_keys;
        for (const auto& fk : t.foreign_keys)
            if (!deferred(t, fk) && !into_existing(fk)) inline_keys.push_back(fk);
        // Each statement of a transaction that takes more than 15 locks makes PostgreSQL walk every
        // lock the transaction holds when the statement ends (LockReassignCurrentOwner): quadratic
        // in a cold start of thousands of tables. A table's keys (an index and a constraint each)
        // are therefore statements of their own, after the table; its foreign keys stay in it,
        // where the server skips their check of existing rows. A key that references the table
        // itself needs the table's keys in the same statement.
        const bool keys_inline = std::any_of(inline_keys.begin(), inline_keys.end(), [&](const model::ForeignKey& fk) {
            return fk.ref_schema == t.schema && fk.ref_table == t.name;
        });
        add(p, t, "create table " + name, create_table_sql(t, inline_keys, keys_inline)).kind = OperationKind::create_table;
        if (!keys_inline) {
            add_primary_key(p, t, {});
            for (const auto& u : t.uniques) add_unique(p, t, u, {});
        }
        for (const auto& idx : t.indexes) add(p, t, "create index " + idx.name + " on " + name, index_sql(t, idx, false));
        for (const auto& fk : t.foreign_keys)
            if (deferred(t, fk) || into_existing(fk))
                add_foreign_key(p, t, fk,
                                "add foreign key " + fk.name + " on " + name + (deferred(t, fk) ? " (closes a cycle)" : ""),
                                alter_table_sql(t) + " ADD " + foreign_key_sql(fk));
    }

    // The order of the object kinds is the order of the operations within a table.
    void plan_existing_table(const model::Plugin& p, const model::Table& t, const model::ActualTable& have) {
        for (const auto& c : t.columns) {
            if (const auto* existing = have.find_column(c.name))
                plan_column(p, t, c, *existing);
            else
                plan_new_column(p, t, c);
        }
        plan_undeclared_columns(p, t, have);
        plan_primary_key(p, t, have);
        for (const auto& u : t.uniques) plan_unique(p, t, u, have);
        for (const auto& ch : t.checks) plan_check(p, t, ch, have);
        for (const auto& idx : t.indexes) plan_index(p, t, idx, have);
        for (const auto& fk : t.foreign_keys) plan_foreign_key(p, t, fk, have);
    }

    // A NOT NULL column without a default that the plugin no longer declares would make each of
    // its inserts fail: the constraint is dropped (catalog only), the column and its data stay.
    void plan_undeclared_columns(const model::Plugin& p, const model::Table& t, const model::ActualTable& have) {
        for (const auto& c : have.columns) {
            if (t.find_column(c.name) || !c.not_null || c.default_sql) continue;
            const bool keyed = std::any_of(have.constraints.begin(), have.constraints.end(), [&](const auto& kv) {
                return kv.second.kind == 'p' &&
                       std::find(kv.second.columns.begin(), kv.second.columns.end(), c.name) != kv.second.columns.end();
            });
            if (keyed) continue;  // the primary key differs: reported as such
            add(p, t, "drop NOT NULL of " + t.qualified_name() + "." + c.name + " (no longer declared)",
                alter_column_sql(t, c.name) + " DROP NOT NULL", {hazard(HazardKind::not_null_relaxed, t.qualified_name())});
        }
    }

    void plan_new_column(const model::Plugin& p, const model::Table& t, const model::Column& c) {
        const std::string name = t.qualified_name();
        const std::string table_sql = qualified(t.schema, t.name);
        const std::string object = "column \"" + c.name + "\"";
        const std::string column = quote_ident(c.name);
        const std::string add_sql = alter_table_sql(t) + " ADD COLUMN ";
        if (c.backfill && c.not_null && answers_.has_rows(name)) {
            // Nullable and without its default, so that adding it rewrites nothing and existing rows
            // stay NULL until the backfill reaches them; new rows get the default at once.
            model::Column nullable = c;
            nullable.not_null = false;
            nullable.default_sql.reset();
            add(p, t, "add column " + name + "." + c.name + " (NULL until backfilled)", add_sql + column_sql(nullable),
                {hazard(HazardKind::added_for_backfill, name)});
            if (c.default_sql)
                add(p, t, "set default of " + name + "." + c.name,
                    alter_column_sql(t, c.name) + " SET DEFAULT " + default_expression(*c.default_sql));
            plan_backfill(p, t, c);
            return;
        }
        if (c.not_null && !c.default_sql && answers_.has_rows(name)) {
            const auto rows = answers_.count(name);
            not_done(p.name, name, object,
                     "refused: NOT NULL column without a default added to a table with " + std::to_string(rows) +
                         (rows == 1 ? " row" : " rows") +
                         "; declare a backfill, which fills the existing rows after the commit before NOT NULL is "
                         "set (e.g. .backfill(\"coalesce(legacy_priority, 0)\")), or a default, or add it by hand "
                         "and fill it",
                     add_sql + column + " " + model::canonical_type(c.type) + "; UPDATE " + table_sql + " SET " + column +
                         " = ...; " + alter_column_sql(t, c.name) + " SET NOT NULL",
                     true);
            return;
        }
        // The server says whether the default is volatile: adding such a column fills (rewrites)
        // every row, which plinth never does.
        if (c.default_sql && answers_.volatile_default({model::canonical_type(c.type), *c.default_sql}) &&
            answers_.has_rows(name)) {
            // Filling existing rows from a volatile default rewrites the table; plinth never does.
            if (c.not_null) {
                not_done(p.name, name, object,
                         "refused: a NOT NULL column whose default is volatile (" + *c.default_sql +
                             ") would rewrite every row of the table",
                         add_sql + column + " " + model::canonical_type(c.type) + "; UPDATE " + table_sql + " SET " +
                             column + " = " + default_expression(*c.default_sql) + "; " + alter_column_sql(t, c.name) +
                             " SET DEFAULT " + default_expression(*c.default_sql) + ", ALTER COLUMN " + column +
                             " SET NOT NULL",
                         true);
                return;
            }
            model::Column without_default = c;
            without_default.default_sql.reset();
            add(p, t, "add column " + name + "." + c.name, add_sql + column_sql(without_default),
                {hazard(HazardKind::rows_get_null, name)});
            add(p, t, "set default of " + name + "." + c.name, alter_column_sql(t, c.name) + " SET DEFAULT " + default_expression(*c.default_sql));
            return;
        }
        add(p, t, "add column " + name + "." + c.name, add_sql + column_sql(c));
    }

    void plan_column(const model::Plugin& p, const model::Table& t, const model::Column& want,
                     const model::ActualColumn& have) {
        const std::string name = t.qualified_name();
        const std::string object = "column \"" + want.name + "\"";
        const std::string alter = alter_column_sql(t, want.name);
        const std::string type = model::canonical_type(want.type);
        if (awaits_conversion(want, have)) {
            not_done(p.name, name, object,
                     "the database has real[] (the table was created on a server without pgvector), the plugin "
                     "declares " + type + "; plinth never converts a column by itself: the conversion rewrites the "
                     "table and fails on a row of another length",
                     alter_table_sql(t) + " DROP CONSTRAINT IF EXISTS " + quote_ident(fallback_check_name(t.name, want.name)) +
                         ", ALTER COLUMN " + quote_ident(want.name) + " TYPE " + type + " USING " +
                         quote_ident(want.name) + "::" + type);
        } else if (type != have.type) {
            if (safe_type_change(have.type, type))
                add(p, t, "change type of " + name + "." + want.name + " from " + have.type + " to " + type,
                    alter + " TYPE " + type, {hazard(HazardKind::catalog_only_type_change, name)});
            else if (options_.allows("table-rewrite"))
                plan_rewrite(p, t, want, have);
            else
                not_done(p.name, name, object,
                         "type differs: the database has " + have.type + ", the plugin declares " + type +
                             "; the change could rewrite the table or lose data, so plinth leaves it",
                         alter + " TYPE " + type + " USING " + quote_ident(want.name) + "::" + type);
        }
        if (want.backfill && want.not_null && !have.not_null) {
            // Added for a backfill by an earlier run, or nullable before: filled, then made NOT NULL.
            plan_backfill(p, t, want);
        } else if (want.backfill && have.not_null) {
            // An interrupted run set NOT NULL but did not drop its helper check yet.
            const auto check = backfill_check_name(t, want.name);
            if (const auto* table = actual_.find_table(name); table && table->constraints.count(check))
                add_after_commit(p, t, "drop helper check " + check + " of " + name + "." + want.name,
                                 alter_table_sql(t) + " DROP CONSTRAINT IF EXISTS " + quote_ident(check), {});
        } else if (want.not_null != have.not_null)
            not_done(p.name, name, object,
                     std::string("nullability differs: the database has ") + (have.not_null ? "NOT NULL" : "NULL") +
                         ", the plugin declares " + (want.not_null ? "NOT NULL" : "NULL"),
                     alter + (want.not_null ? " SET NOT NULL" : " DROP NOT NULL"));
        const auto have_default = have.default_sql ? std::optional(normalize_default(*have.default_sql)) : std::nullopt;
        auto want_default = want.default_sql ? std::optional(normalize_default(*want.default_sql)) : std::nullopt;
        if (have_default && want_default && have_default != want_default) {
            // The server may spell the same default otherwise ('{"a":1}' as '{"a": 1}'::jsonb): ask it.
            if (auto server = answers_.server_default({type, *want.default_sql})) want_default = normalize_default(*server);
        }
        if (have_default != want_default)
            not_done(p.name, name, object,
                     "default differs: the database has " + have.default_sql.value_or("no default") +
                         ", the plugin declares " + want.default_sql.value_or("no default"),
                     alter + (want.default_sql ? " SET DEFAULT " + default_expression(*want.default_sql) : " DROP DEFAULT"));
    }

    // The check that makes SET NOT NULL skip its scan: "<table>_<column>_not_null", or a hashed name
    // when that would pass PostgreSQL's 63 bytes (it would be truncated, and then not found again).
    static std::string backfill_check_name(const model::Table& t, const std::string& column) {
        std::string name = t.name + "_" + column + "_not_null";
        return name.size() <= 63 ? name : "plinth_not_null_" + hash_hex(t.name + "." + column);
    }

    // Two steps after the commit, which apply runs in batches, journaled (plan::Backfill).
    void plan_backfill(const model::Plugin& p, const model::Table& t, const model::Column& c) {
        const std::string name = t.qualified_name();
        Backfill b{Backfill::Step::fill, t.schema, t.name, c.name, *c.backfill, {}, backfill_check_name(t, c.name)};
        for (const auto& k : t.primary_key)
            if (const auto* column = t.find_column(k)) b.key.emplace_back(k, model::canonical_type(column->type));
        const std::string column = quote_ident(c.name);
        Operation fill{p.name, name, "backfill " + name + "." + c.name + " (in batches by primary key)",
                       "UPDATE " + qualified(t.schema, t.name) + " SET " + column + " = (" + *c.backfill + ") WHERE " +
                           column + " IS NULL",
                       {hazard(HazardKind::backfill_batches, name)}, Phase::after_commit, {}, b};
        after_commit_.push_back(std::move(fill));
        b.step = Backfill::Step::not_null;
        Operation not_null{p.name, name, "set NOT NULL of " + name + "." + c.name + " (online, through check " +
                                             b.check_name + ")",
                           alter_column_sql(t, c.name) + " SET NOT NULL", {hazard(HazardKind::not_null_online, name)},
                           Phase::after_commit, {}, b};
        after_commit_.push_back(std::move(not_null));
    }

    // A type change that rewrites the table, which the operator allowed: in the transaction, under
    // its lock_timeout, with the table's size in the summary so the plan shows what it costs.
    void plan_rewrite(const model::Plugin& p, const model::Table& t, const model::Column& want,
                      const model::ActualColumn& have) {
        const std::string name = t.qualified_name();
        const std::string type = model::canonical_type(want.type);
        const auto rows = answers_.count(name);
        const auto bytes = answers_.total_bytes(name);
        const std::string size = std::to_string(rows) + (rows == 1 ? " row, " : " rows, ") + human_bytes(bytes);
        add(p, t, "change type of " + name + "." + want.name + " from " + have.type + " to " + type +
                      " (rewrites the table: " + size + ")",
            alter_column_sql(t, want.name) + " TYPE " + type +
                (want.using_expression ? " USING (" + *want.using_expression + ")" : ""),
            {hazard(HazardKind::table_rewrite, name, {}, size)});
    }

    static std::string human_bytes(std::int64_t bytes) {
        const char* units[] = {"bytes", "kB", "MB", "GB", "TB"};
        int unit = 0;
        auto value = bytes;
        while (value >= 10 * 1024 && unit < 4) {
            value /= 1024;
            ++unit;
        }
        return std::to_string(value) + " " + units[unit];
    }

    void plan_primary_key(const model::Plugin& p, const model::Table& t, const model::ActualTable& have) {
        const std::string name = t.qualified_name();
        const model::ActualConstraint* pk = nullptr;
        for (const auto& [n, con] : have.constraints)
            if (con.kind == 'p') pk = &con;
        if (!pk)
            add_primary_key(p, t,
                            answers_.has_rows(name) ? std::vector{hazard(HazardKind::primary_key_blocks_writes, name)}
                                                    : std::vector<Hazard>{});
        else if (pk->columns != t.primary_key)
            not_done(p.name, name, "primary key \"" + pk->name + "\"",
                     "primary key differs: the database has (" + join(pk->columns, ", ") + "), the plugin declares (" +
                         join(t.primary_key, ", ") + ")",
                     alter_table_sql(t) + " DROP CONSTRAINT " + quote_ident(pk->name) + ", ADD " +
                         primary_key_sql(t.primary_key_name, t.primary_key));
    }

    void plan_unique(const model::Plugin& p, const model::Table& t, const model::UniqueConstraint& u,
                     const model::ActualTable& have) {
        const std::string name = t.qualified_name();
        const bool present = std::any_of(have.constraints.begin(), have.constraints.end(),
                                         [&](const auto& kv) { return same_unique(u, kv.second); });
        if (present) return;
        if (auto taken = have.constraints.find(u.name); taken != have.constraints.end()) {
            not_done(p.name, name, "unique constraint \"" + u.name + "\"",
                     "a constraint of that name exists with another definition: " + taken->second.definition,
                     alter_table_sql(t) + " DROP CONSTRAINT " + quote_ident(u.name) + ", ADD " + unique_sql(u));
            return;
        }
        add_unique(p, t, u,
                   answers_.has_rows(name) ? std::vector{hazard(HazardKind::unique_blocks_writes, name)}
                                           : std::vector<Hazard>{});
    }

    // The table's primary key, or one unique constraint, added to it by a statement of its own.
    void add_primary_key(const model::Plugin& p, const model::Table& t, std::vector<Hazard> hazards) {
        add(p, t, "add primary key " + t.primary_key_name + " on " + t.qualified_name(),
            alter_table_sql(t) + " ADD " + primary_key_sql(t.primary_key_name, t.primary_key), std::move(hazards))
            .kind = OperationKind::add_key;
    }
    void add_unique(const model::Plugin& p, const model::Table& t, const model::UniqueConstraint& u,
                    std::vector<Hazard> hazards) {
        add(p, t, "add unique constraint " + u.name + " on " + t.qualified_name(),
            alter_table_sql(t) + " ADD " + unique_sql(u), std::move(hazards))
            .kind = OperationKind::add_key;
    }

    void plan_check(const model::Plugin& p, const model::Table& t, const model::Check& ch, const model::ActualTable& have) {
        const std::string name = t.qualified_name();
        if (auto found = have.constraints.find(ch.name); found != have.constraints.end()) {
            // The server rewrites expressions (parentheses, casts), so it spells the declared one too.
            const std::string definition = check_definition(found->second);
            const auto declared = answers_.server_definition({representative(have), 'c', ch.expression});
            if (declared && *declared != definition) {
                not_done(p.name, name, "check \"" + ch.name + "\"",
                         "a check of that name exists with another definition: the database has " + definition +
                             ", the plugin declares " + *declared,
                         alter_table_sql(t) + " DROP CONSTRAINT " + quote_ident(ch.name) + ", ADD " + check_sql(ch));
                return;
            }
            if (!found->second.validated)
                add_after_commit(p, t, "validate check " + ch.name + " on " + name, validate_constraint_sql(t, ch.name),
                                 {hazard(HazardKind::check_validation_scan, name)});
            return;
        }
        const std::string add_sql = alter_table_sql(t) + " ADD " + check_sql(ch);
        if (answers_.has_rows(name)) {
            add(p, t, "add check " + ch.name + " on " + name + " (NOT VALID)", add_sql + " NOT VALID",
                {hazard(HazardKind::added_not_valid, name)});
            add_after_commit(p, t, "validate check " + ch.name + " on " + name, validate_constraint_sql(t, ch.name),
                             {hazard(HazardKind::check_validation_may_fail, name)});
        } else {
            add(p, t, "add check " + ch.name + " on " + name, add_sql);
        }
    }

    void plan_index(const model::Plugin& p, const model::Table& t, const model::Index& idx,
                    const model::ActualTable& have) {
        const std::string name = t.qualified_name();
        if (const auto* column = unconverted_key(t, idx, have)) {
            not_done(p.name, name, "index \"" + idx.name + "\"",
                     "waits for column \"" + column->name + "\" to be converted to " +
                         model::canonical_type(column->type) + " (see above); " + idx.method + " cannot index real[]",
                     index_sql(t, idx, true));
            return;
        }
        auto found = have.indexes.find(idx.name);
        if (found == have.indexes.end()) {
            plan_missing_index(p, t, idx, have);
            return;
        }
        const auto& existing = found->second;
        if (!existing.valid && !existing.building) {
            add_after_commit(p, t, "drop invalid index " + idx.name + " on " + name,
                             "DROP INDEX CONCURRENTLY IF EXISTS " + qualified(t.schema, idx.name),
                             {hazard(HazardKind::invalid_index_dropped, name)});
            add_after_commit(p, t, "rebuild index " + idx.name + " on " + name + " (concurrently)", index_sql(t, idx, true),
                             {hazard(HazardKind::concurrent_index_rebuild, name)});
        } else if (!same_index_keys(idx, existing) || !same_spelling(have, idx, existing) ||
                   (existing.unique && !same_index_build(idx, existing))) {
            // A unique index is never dropped to be rebuilt: uniqueness would go unchecked meanwhile.
            not_done(p.name, name, "index \"" + idx.name + "\"",
                     "an index of that name exists with another definition (" + existing.method + " on " +
                         model::index_spelling(existing.keys, existing.predicate) + ")",
                     "DROP INDEX CONCURRENTLY " + qualified(t.schema, idx.name) + "; " + index_sql(t, idx, true));
        } else if (!same_index_build(idx, existing)) {
            rebuild_index(p, t, idx, existing);
        }
    }

    // The index has the declared keys but was built otherwise (method, operator class, storage
    // parameters): dropped and built again as declared. It holds no data, so nothing is lost.
    void rebuild_index(const model::Plugin& p, const model::Table& t, const model::Index& idx,
                       const model::ActualIndex& existing) {
        const std::string name = t.qualified_name();
        std::vector<std::string> options;
        for (const auto& [n, v] : existing.options) options.push_back(n + "=" + v);
        const std::string differs = "the database has " + existing.method + " (" + join(existing.opclasses, ", ") + ")" +
                                    (options.empty() ? "" : " WITH (" + join(options, ", ") + ")");
        if (answers_.has_rows(name)) {
            add_after_commit(p, t, "drop index " + idx.name + " on " + name + " (built otherwise: " + differs + ")",
                             "DROP INDEX CONCURRENTLY IF EXISTS " + qualified(t.schema, idx.name),
                             {hazard(HazardKind::index_differs, name)});
            add_after_commit(p, t, "rebuild index " + idx.name + " on " + name + " (concurrently)", index_sql(t, idx, true),
                             {hazard(HazardKind::concurrent_index_rebuild, name)});
        } else {
            add(p, t, "drop index " + idx.name + " on " + name + " (built otherwise: " + differs + ")",
                "DROP INDEX " + qualified(t.schema, idx.name), {hazard(HazardKind::index_differs, name)});
            add(p, t, "create index " + idx.name + " on " + name, index_sql(t, idx, false), {}, "SHARE");
        }
    }

    void plan_missing_index(const model::Plugin& p, const model::Table& t, const model::Index& idx,
                            const model::ActualTable& have) {
        const std::string name = t.qualified_name();
        // A plain index already there under another name (made by another tool) serves.
        const bool equivalent = plain_index(idx) && std::any_of(have.indexes.begin(), have.indexes.end(), [&](const auto& kv) {
            return kv.second.valid && same_index(idx, kv.second);
        });
        if (equivalent) return;
        if (actual_.relation_names.count(t.schema + "." + idx.name)) {
            not_done(p.name, name, "index \"" + idx.name + "\"",
                     "the name is taken by another relation in schema " + t.schema, "", true);
            return;
        }
        if (answers_.has_rows(name))
            add_after_commit(p, t, "create index " + idx.name + " on " + name + " (concurrently)", index_sql(t, idx, true),
                             {hazard(HazardKind::concurrent_index_build, name)});
        else
            add(p, t, "create index " + idx.name + " on " + name, index_sql(t, idx, false), {}, "SHARE");
    }

    void plan_foreign_key(const model::Plugin& p, const model::Table& t, const model::ForeignKey& fk,
                          const model::ActualTable& have) {
        const std::string name = t.qualified_name();
        const model::ActualConstraint* match = nullptr;
        for (const auto& [n, con] : have.constraints)
            if (same_foreign_key(fk, con)) match = &con;
        if (match) {
            if (!match->validated)
                add_after_commit(p, t, "validate foreign key " + match->name + " on " + name,
                                 validate_constraint_sql(t, match->name),
                                 {hazard(HazardKind::foreign_key_validation_may_fail, name)});
            return;
        }
        if (auto taken = have.constraints.find(fk.name); taken != have.constraints.end()) {
            not_done(p.name, name, "foreign key \"" + fk.name + "\"",
                     "a constraint of that name exists with another definition: " + taken->second.definition,
                     alter_table_sql(t) + " DROP CONSTRAINT " + quote_ident(fk.name) + ", ADD " + foreign_key_sql(fk));
            return;
        }
        const std::string add_sql = alter_table_sql(t) + " ADD " + foreign_key_sql(fk);
        if (answers_.has_rows(name)) {
            add_foreign_key(p, t, fk, "add foreign key " + fk.name + " on " + name + " (NOT VALID)", add_sql + " NOT VALID",
                            {hazard(HazardKind::added_not_valid, name)});
            add_after_commit(p, t, "validate foreign key " + fk.name + " on " + name, validate_constraint_sql(t, fk.name),
                             {hazard(HazardKind::foreign_key_validation_may_fail, name)});
        } else {
            add_foreign_key(p, t, fk, "add foreign key " + fk.name + " on " + name, add_sql);
        }
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
        const auto declared = answers_.server_definition({representative(table), 'i', model::index_tail(want)});
        return !declared || *declared == model::index_spelling(have.keys, have.predicate);
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
            auto it = declared.find(name);
            if (it == declared.end()) {
                if (auto skipped = skipped_tables_.find(name); skipped != skipped_tables_.end())
                    not_done(skipped->second, name, "", "its plugin was skipped this run; left alone", "");
                else
                    not_done("", name, "", "not declared by any plugin; left alone", "");
                continue;
            }
            for (const auto& c : have.columns)
                if (!it->second->find_column(c.name))
                    not_done(owner[name], name, "column \"" + c.name + "\"", "not declared by the plugin; left alone",
                             alter_table_sql(*it->second) + " DROP COLUMN " + quote_ident(c.name));
        }
    }

    std::vector<model::Plugin> plugins_;
    const order::Ordering& ordering_;
    model::ActualSchema actual_;  // a copy: the renames change it (see plan_renames)
    const std::map<std::string, std::string>& skipped_tables_;
    const PlanOptions& options_;
    Answers answers_;
    std::map<std::string, std::string> representatives_;  // column signature -> "schema.table"
    std::vector<Operation> foreign_keys_;                  // added once every table exists
    std::vector<Operation> locking_;                       // other operations locking tables that existed
    std::vector<Operation> after_commit_;
    Plan plan_;
};

}  // namespace

Plan make_plan(const std::vector<model::Plugin>& plugins, const order::Ordering& ordering,
               const model::ActualSchema& actual, const model::DatabaseProbe& probe,
               const std::map<std::string, std::string>& skipped_tables, const PlanOptions& options) {
    // First pass: learn which questions the database must answer (which tables have rows, how the
    // server spells some defaults, checks and indexes), without asking. Then ask once for all of them and plan for
    // real. Planning is pure, so two passes cost nothing of note.
    std::set<std::string> tables_asked;
    std::set<model::DeclaredDefault> defaults_asked;
    std::set<model::DeclaredDefinition> definitions_asked;
    std::set<model::DeclaredDefault> volatility_asked;
    // A default is taken as volatile in the first pass, so that the row question behind it is asked too.
    Planner(plugins, ordering, actual, skipped_tables, options,
            {[&](const std::string& t) { tables_asked.insert(t); return false; },
             [](const std::string&) { return std::int64_t{0}; },
             [](const std::string&) { return std::int64_t{0}; },
             [&](const model::DeclaredDefault& d) { defaults_asked.insert(d); return std::optional<std::string>(); },
             [&](const model::DeclaredDefinition& d) { definitions_asked.insert(d); return std::optional<std::string>(); },
             [&](const model::DeclaredDefault& d) { volatility_asked.insert(d); return true; }})
        .run();
    std::map<std::string, bool> rows;
    if (!tables_asked.empty()) rows = probe.have_rows({tables_asked.begin(), tables_asked.end()});
    std::map<model::DeclaredDefault, std::optional<std::string>> defaults;
    if (!defaults_asked.empty()) defaults = probe.server_defaults({defaults_asked.begin(), defaults_asked.end()});
    std::map<model::DeclaredDefinition, std::optional<std::string>> definitions;
    if (!definitions_asked.empty())
        definitions = probe.server_definitions({definitions_asked.begin(), definitions_asked.end()});
    std::map<model::DeclaredDefault, bool> volatility;
    if (!volatility_asked.empty())
        volatility = probe.volatile_defaults({volatility_asked.begin(), volatility_asked.end()});
    const auto total_bytes = [&](const std::string& t) { return probe.total_bytes ? probe.total_bytes(t) : 0; };
    return Planner(plugins, ordering, actual, skipped_tables, options,
                   {[&](const std::string& t) { return rows[t]; }, probe.count, total_bytes,
                    [&](const model::DeclaredDefault& d) { return defaults[d]; },
                    [&](const model::DeclaredDefinition& d) { return definitions[d]; },
                    [&](const model::DeclaredDefault& d) { return volatility[d]; }})
        .run();
}

}  // namespace plinth::plan
