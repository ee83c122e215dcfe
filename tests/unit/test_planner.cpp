// The planner without a database: declarations, a hand-built actual schema, and a probe that
// answers from fixed values.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <optional>
#include <string>
#include <vector>

#include "model/actual_schema.hpp"
#include "model/database_probe.hpp"
#include "model/types.hpp"
#include "order/order.hpp"
#include "plan/plan.hpp"

namespace model = plinth::model;
namespace plan = plinth::plan;
using plan::HazardKind;
using Strings = std::vector<std::string>;

namespace {

model::Column column(std::string name, std::string type, bool not_null = false,
                     std::optional<std::string> default_sql = std::nullopt) {
    return {std::move(name), std::move(type), std::move(default_sql), not_null};
}

// "public.<name>": an "id uuid" primary key, then `columns`.
model::Table table(const std::string& name, std::vector<model::Column> columns = {}) {
    model::Table t;
    t.schema = "public";
    t.name = name;
    t.columns.push_back(column("id", "uuid", true));
    for (auto& c : columns) t.columns.push_back(std::move(c));
    t.primary_key_name = name + "_pkey";
    t.primary_key = {"id"};
    return t;
}

model::Plugin plugin(const std::string& name, std::vector<model::Table> tables) {
    model::Plugin p;
    p.name = name;
    p.version = "1.0.0";
    p.tables = std::move(tables);
    return p;
}

model::ForeignKey foreign_key(const std::string& name, const std::string& column, const std::string& ref_table,
                              model::FkAction on_delete = model::FkAction::no_action) {
    return {name, {column}, "public", ref_table, {"id"}, on_delete, model::FkAction::no_action};
}

char action_letter(model::FkAction action) {
    switch (action) {
        case model::FkAction::no_action: return 'a';
        case model::FkAction::restrict: return 'r';
        case model::FkAction::cascade: return 'c';
        case model::FkAction::set_null: return 'n';
        case model::FkAction::set_default: return 'd';
    }
    return 'a';
}

model::ActualConstraint constraint(const std::string& name, char kind, Strings columns, std::string definition = "") {
    model::ActualConstraint c;
    c.name = name;
    c.kind = kind;
    c.columns = std::move(columns);
    c.definition = std::move(definition);
    return c;
}

// A foreign key from `column` to `ref_table`.id, `on_delete` as a pg_constraint letter.
model::ActualConstraint actual_foreign_key(const std::string& name, const std::string& column, const std::string& ref_table,
                                           char on_delete = 'a', std::string definition = "") {
    auto c = constraint(name, 'f', {column}, std::move(definition));
    c.ref_schema = "public";
    c.ref_table = ref_table;
    c.ref_columns = {"id"};
    c.on_delete = on_delete;
    return c;
}

// An index as the catalog lists it: keys as pg_get_indexdef() writes them, all columns or all expressions.
model::ActualIndex actual_index(const std::string& name, Strings keys, const std::string& method = "btree",
                                bool unique = false, bool expressions = false) {
    model::ActualIndex idx;
    idx.name = name;
    idx.unique = unique;
    idx.method = method;
    idx.expression_keys = std::vector<bool>(keys.size(), expressions);
    idx.keys = std::move(keys);
    return idx;
}

// What the catalog shows for `t` created as declared: keys and constraints with their indexes.
model::ActualTable as_created(const model::Table& t) {
    model::ActualTable a;
    a.schema = t.schema;
    a.name = t.name;
    for (const auto& c : t.columns) a.columns.push_back({c.name, model::canonical_type(c.type), c.not_null, c.default_sql});
    a.constraints[t.primary_key_name] = constraint(t.primary_key_name, 'p', t.primary_key);
    a.indexes[t.primary_key_name] = actual_index(t.primary_key_name, t.primary_key, "btree", true);
    for (const auto& u : t.uniques) {
        a.constraints[u.name] = constraint(u.name, 'u', u.columns);
        a.indexes[u.name] = actual_index(u.name, u.columns, "btree", true);
    }
    for (const auto& fk : t.foreign_keys) {
        auto& have = a.constraints[fk.name] = constraint(fk.name, 'f', fk.columns);
        have.ref_schema = fk.ref_schema;
        have.ref_table = fk.ref_table;
        have.ref_columns = fk.ref_columns;
        have.on_delete = action_letter(fk.on_delete);
        have.on_update = action_letter(fk.on_update);
    }
    for (const auto& ch : t.checks) a.constraints[ch.name] = constraint(ch.name, 'c', {}, "CHECK ((" + ch.expression + "))");
    for (const auto& idx : t.indexes) {
        auto have = actual_index(idx.name, {}, idx.method, idx.unique);
        have.predicate = idx.predicate;
        for (const auto& k : idx.keys) {
            const bool expression = model::is_expression_key(k);
            have.keys.push_back(expression ? k.substr(1, k.size() - 2) : k);
            have.expression_keys.push_back(expression);
            const auto& opclass = idx.opclass(have.keys.size() - 1);
            have.opclasses.push_back(opclass.empty() ? "default_ops" : opclass);
            have.default_opclasses.push_back(opclass.empty());
        }
        have.options = idx.options;
        a.indexes[idx.name] = have;
    }
    return a;
}

// A database with schema public and pgvector installed, holding `tables` and their indexes.
model::ActualSchema database(const std::vector<model::ActualTable>& tables = {}) {
    model::ActualSchema s;
    s.schemas = {"public"};
    s.vector_available = true;
    s.vector_installed = true;
    s.vector_creatable = true;
    s.role = "plinth";
    s.database = "shop";
    for (const auto& t : tables) {
        s.tables[t.schema + "." + t.name] = t;
        s.relation_names.insert(t.schema + "." + t.name);
        for (const auto& [name, idx] : t.indexes) s.relation_names.insert(t.schema + "." + name);
    }
    return s;
}

// Answers from fixed values, and a record of every question, one entry per call.
struct FakeDatabase {
    std::map<std::string, std::int64_t> rows;                 // "schema.table" -> row count; absent: none
    std::map<model::DeclaredDefault, std::string> defaults;   // the server's spelling; absent: rejected
    std::map<model::DeclaredDefinition, std::string> definitions;
    // Declared default expressions the server would call volatile (it decides; the planner never guesses).
    std::set<std::string> volatile_expressions{"gen_random_uuid()"};
    mutable std::vector<Strings> row_questions;
    mutable std::vector<std::vector<model::DeclaredDefault>> volatility_questions;
    mutable std::vector<std::vector<model::DeclaredDefault>> default_questions;
    mutable std::vector<std::vector<model::DeclaredDefinition>> definition_questions;

    model::DatabaseProbe probe() const {
        model::DatabaseProbe p;
        p.have_rows = [this](const Strings& tables) {
            row_questions.push_back(tables);
            std::map<std::string, bool> answers;
            for (const auto& t : tables) answers[t] = rows.count(t) && rows.at(t) > 0;
            return answers;
        };
        p.count = [this](const std::string& t) { return rows.count(t) ? rows.at(t) : 0; };
        p.server_defaults = [this](const std::vector<model::DeclaredDefault>& asked) {
            default_questions.push_back(asked);
            std::map<model::DeclaredDefault, std::optional<std::string>> answers;
            for (const auto& d : asked) answers[d] = defaults.count(d) ? std::optional(defaults.at(d)) : std::nullopt;
            return answers;
        };
        p.server_definitions = [this](const std::vector<model::DeclaredDefinition>& asked) {
            definition_questions.push_back(asked);
            std::map<model::DeclaredDefinition, std::optional<std::string>> answers;
            for (const auto& d : asked)
                answers[d] = definitions.count(d) ? std::optional(definitions.at(d)) : std::nullopt;
            return answers;
        };
        p.volatile_defaults = [this](const std::vector<model::DeclaredDefault>& asked) {
            volatility_questions.push_back(asked);
            std::map<model::DeclaredDefault, bool> answers;
            for (const auto& d : asked) answers[d] = volatile_expressions.count(d.second) > 0;
            return answers;
        };
        return p;
    }
};

plan::Plan make(const std::vector<model::Plugin>& plugins, const model::ActualSchema& actual,
                const FakeDatabase& db = {}, const std::map<std::string, std::string>& skipped = {}) {
    return plan::make_plan(plugins, plinth::order::order(plugins), actual, db.probe(), skipped);
}

// One plugin "shop" with `declared`, against a database holding `actual`.
plan::Plan make(const model::Table& declared, const model::ActualTable& actual, const FakeDatabase& db = {}) {
    return make({plugin("shop", {declared})}, database({actual}), db);
}

Strings summaries(const plan::Plan& p) {
    Strings out;
    for (const auto& op : p.operations) out.push_back(op.summary);
    return out;
}

Strings statements(const plan::Plan& p) {
    Strings out;
    for (const auto& op : p.operations) out.push_back(op.sql);
    return out;
}

// What an ALTER of the existing table public.t adds to its hazards.
const plan::Hazard locks_t{HazardKind::locks_existing_table,
                           "locks public.t (ACCESS EXCLUSIVE) until the migration commits: its readers and writers wait"};
const plan::Hazard locks_orders{HazardKind::locks_existing_table,
                                "locks public.orders (SHARE ROW EXCLUSIVE) until the migration commits: its writers wait"};
const plan::Hazard locks_customers{
    HazardKind::locks_existing_table,
    "locks public.customers (SHARE ROW EXCLUSIVE) until the migration commits: its writers wait"};

Strings reasons(const plan::Plan& p) {
    Strings out;
    for (const auto& nd : p.not_done) out.push_back(nd.reason);
    return out;
}

// A table "t" with one column "c" declared as `declared`, the database holding `in_catalog`.
plan::Plan column_plan(const model::Column& declared, const model::ActualColumn& in_catalog, const FakeDatabase& db = {}) {
    auto t = table("t", {declared});
    auto have = as_created(t);
    have.columns.back() = in_catalog;
    return make(t, have, db);
}

// The default drift reported for a text column "c" (or of `type`), declared and in the catalog.
Strings default_drift(std::optional<std::string> in_catalog, std::optional<std::string> declared,
                      const std::string& type = "text") {
    return reasons(column_plan(column("c", type, false, declared), {"c", model::canonical_type(type), false, in_catalog}));
}

// Whether a column whose catalog type is `from` is changed in place to the declared `to`.
bool changed_in_place(const std::string& from, const std::string& to) {
    const auto p = column_plan(column("c", to), {"c", from, false, std::nullopt});
    return p.operations.size() == 1 && p.not_done.empty();
}

}  // namespace

TEST_CASE("on an empty database each table is created, then its keys, in creation order, its indexes after it") {
    auto customers = table("customers", {column("email", "text", true)});
    customers.columns[0].default_sql = "gen_random_uuid()";
    customers.uniques.push_back({"customers_email_key", {"email"}});
    customers.checks.push_back({"customers_email_check", "email <> ''"});
    auto orders = table("orders", {column("customer_id", "uuid", true), column("placed_at", "timestamptz", false, "now()")});
    orders.foreign_keys.push_back(foreign_key("orders_customer_id_fkey", "customer_id", "customers", model::FkAction::cascade));
    orders.indexes.push_back({"orders_customer_id_idx", false, "btree", {"customer_id"}, std::nullopt});
    FakeDatabase db;
    const auto p = make({plugin("shop", {orders, customers})}, database(), db);
    CHECK(summaries(p) == Strings{"create table public.customers", "add primary key customers_pkey on public.customers",
                                  "add unique constraint customers_email_key on public.customers",
                                  "create table public.orders", "add primary key orders_pkey on public.orders",
                                  "create index orders_customer_id_idx on public.orders"});
    CHECK(statements(p) ==
          Strings{"CREATE TABLE \"public\".\"customers\" (\n"
                  "  \"id\" uuid DEFAULT (gen_random_uuid()) NOT NULL,\n"
                  "  \"email\" text NOT NULL,\n"
                  "  CONSTRAINT \"customers_email_check\" CHECK (email <> '')\n"
                  ")",
                  "ALTER TABLE \"public\".\"customers\" ADD CONSTRAINT \"customers_pkey\" PRIMARY KEY (\"id\")",
                  "ALTER TABLE \"public\".\"customers\" ADD CONSTRAINT \"customers_email_key\" UNIQUE (\"email\")",
                  "CREATE TABLE \"public\".\"orders\" (\n"
                  "  \"id\" uuid NOT NULL,\n"
                  "  \"customer_id\" uuid NOT NULL,\n"
                  "  \"placed_at\" timestamp with time zone DEFAULT (now()),\n"
                  "  CONSTRAINT \"orders_customer_id_fkey\" FOREIGN KEY (\"customer_id\") REFERENCES \"public\".\"customers\" "
                  "(\"id\") ON DELETE CASCADE\n"
                  ")",
                  "ALTER TABLE \"public\".\"orders\" ADD CONSTRAINT \"orders_pkey\" PRIMARY KEY (\"id\")",
                  "CREATE INDEX \"orders_customer_id_idx\" ON \"public\".\"orders\" USING btree (\"customer_id\")"});
    for (const auto& op : p.operations) {
        CHECK(op.plugin == "shop");
        CHECK(op.phase == plan::Phase::transaction);
        CHECK(op.hazards.empty());
    }
    CHECK(p.operations[3].table == "public.orders");
    CHECK(p.not_done.empty());
    CHECK(p.notes.empty());
    // Nothing exists yet, so there is nothing to ask the database.
    CHECK(db.row_questions.empty());
    CHECK(db.default_questions.empty());
    CHECK(db.definition_questions.empty());
}

TEST_CASE("a table whose key references the table itself is created with its keys in one statement") {
    auto tree = table("nodes", {column("parent_id", "uuid"), column("slug", "text", true)});
    tree.uniques.push_back({"nodes_slug_key", {"slug"}});
    tree.foreign_keys.push_back(foreign_key("nodes_parent_id_fkey", "parent_id", "nodes"));
    const auto p = make({plugin("shop", {tree})}, database());
    CHECK(summaries(p) == Strings{"create table public.nodes"});
    CHECK(statements(p) == Strings{"CREATE TABLE \"public\".\"nodes\" (\n"
                                   "  \"id\" uuid NOT NULL,\n"
                                   "  \"parent_id\" uuid,\n"
                                   "  \"slug\" text NOT NULL,\n"
                                   "  CONSTRAINT \"nodes_pkey\" PRIMARY KEY (\"id\"),\n"
                                   "  CONSTRAINT \"nodes_slug_key\" UNIQUE (\"slug\"),\n"
                                   "  CONSTRAINT \"nodes_parent_id_fkey\" FOREIGN KEY (\"parent_id\") REFERENCES "
                                   "\"public\".\"nodes\" (\"id\")\n"
                                   ")"});
}

TEST_CASE("a missing schema is created first, once, on behalf of the first plugin that owns it") {
    auto a = plugin("a", {table("alpha")});
    auto b = plugin("b", {table("beta")});
    for (auto* p : {&a, &b}) {
        p->schema = "crm";
        p->tables[0].schema = "crm";
    }
    const auto p = make({a, b}, database());
    REQUIRE(p.operations.size() == 5);
    CHECK(p.operations[0].plugin == "a");
    CHECK(p.operations[0].table == "");
    CHECK(p.operations[0].summary == "create schema crm");
    CHECK(p.operations[0].sql == "CREATE SCHEMA IF NOT EXISTS \"crm\"");
    CHECK(summaries(p) == Strings{"create schema crm", "create table crm.alpha", "add primary key alpha_pkey on crm.alpha",
                                  "create table crm.beta", "add primary key beta_pkey on crm.beta"});
    CHECK(plan::owned_schemas({a, b, plugin("c", {})}) == Strings{"crm", "public"});
}

TEST_CASE("a table in step with its declaration plans nothing") {
    auto t = table("t", {column("label", "varchar(64)", true, "'none'")});
    t.uniques.push_back({"t_label_key", {"label"}});
    t.indexes.push_back({"t_label_idx", false, "btree", {"label"}, std::nullopt});
    auto have = as_created(t);
    have.columns[1].default_sql = "'none'::character varying";
    const auto p = make(t, have);
    CHECK(p.operations.empty());
    CHECK(p.not_done.empty());
    CHECK_FALSE(p.has_operations());
    CHECK_FALSE(p.blocked());
    CHECK(p.text() == "the database is up to date: nothing to apply\n");
}

TEST_CASE("defaults compare without the server's cast of a literal and without case outside quotes") {
    CHECK(default_drift("'active'::text", "'active'").empty());
    CHECK(default_drift("'x'::character varying", "'x'", "varchar").empty());
    CHECK(default_drift("'x'::character varying(10)", "'x'", "varchar(10)").empty());
    CHECK(default_drift("'{}'::text[]", "'{}'", "text[]").empty());
    CHECK(default_drift("'{}'::jsonb", "'{}'", "jsonb").empty());
    CHECK(default_drift("'-1'::integer", "-1", "integer").empty());
    CHECK(default_drift("'1.5'::numeric", "1.5", "numeric").empty());
    CHECK(default_drift("now()", "NOW()", "timestamptz").empty());
    CHECK(default_drift("'it''s'::text", "'it''s'").empty());
    // Quoted text keeps its case.
    CHECK(default_drift("'Active'::text", "'active'") ==
          Strings{"default differs: the database has 'Active'::text, the plugin declares 'active'"});
    CHECK(default_drift("1", "2", "integer") == Strings{"default differs: the database has 1, the plugin declares 2"});
}

TEST_CASE("a default present on one side only is drift, with the SQL to set or drop it") {
    auto p = column_plan(column("c", "text", false, "'x'"), {"c", "text", false, std::nullopt});
    REQUIRE(p.not_done.size() == 1);
    CHECK(p.not_done[0].plugin == "shop");
    CHECK(p.not_done[0].table == "public.t");
    CHECK(p.not_done[0].object == "column \"c\"");
    CHECK(p.not_done[0].reason == "default differs: the database has no default, the plugin declares 'x'");
    CHECK(p.not_done[0].manual_sql == "ALTER TABLE \"public\".\"t\" ALTER COLUMN \"c\" SET DEFAULT ('x')");
    CHECK_FALSE(p.not_done[0].blocking);
    CHECK_FALSE(p.blocked());
    p = column_plan(column("c", "text"), {"c", "text", false, "'x'::text"});
    REQUIRE(p.not_done.size() == 1);
    CHECK(p.not_done[0].reason == "default differs: the database has 'x'::text, the plugin declares no default");
    CHECK(p.not_done[0].manual_sql == "ALTER TABLE \"public\".\"t\" ALTER COLUMN \"c\" DROP DEFAULT");
}

TEST_CASE("a default that still differs is compared as the server spells it, asked once") {
    const model::DeclaredDefault question{"jsonb", "'{\"a\":1}'"};
    FakeDatabase db;
    db.defaults[question] = "'{\"a\": 1}'::jsonb";
    const auto p = column_plan(column("c", "jsonb", false, "'{\"a\":1}'"), {"c", "jsonb", false, "'{\"a\": 1}'::jsonb"}, db);
    CHECK(p.not_done.empty());
    REQUIRE(db.default_questions.size() == 1);
    CHECK(db.default_questions[0] == std::vector<model::DeclaredDefault>{question});

    FakeDatabase rejecting;  // the server rejects the declared default: compared as written
    const auto drift =
        column_plan(column("c", "jsonb", false, "'{\"a\":1}'"), {"c", "jsonb", false, "'{\"a\": 1}'::jsonb"}, rejecting);
    CHECK(reasons(drift) ==
          Strings{"default differs: the database has '{\"a\": 1}'::jsonb, the plugin declares '{\"a\":1}'"});

    FakeDatabase not_asked;  // equal after normalizing: no question
    column_plan(column("c", "text", false, "'a'"), {"c", "text", false, "'a'::text"}, not_asked);
    CHECK(not_asked.default_questions.empty());
}

TEST_CASE("only type changes PostgreSQL makes in the catalog are made") {
    CHECK(changed_in_place("character varying(10)", "varchar(40)"));
    CHECK(column_plan(column("c", "varchar(10)"), {"c", "character varying(10)", false, std::nullopt}).operations.empty());
    CHECK(changed_in_place("character varying(10)", "text"));
    CHECK(changed_in_place("character varying(10)", "varchar"));
    CHECK(changed_in_place("text", "varchar"));
    CHECK(changed_in_place("numeric(10,2)", "numeric(12, 2)"));
    CHECK_FALSE(changed_in_place("character varying(40)", "varchar(10)"));
    CHECK_FALSE(changed_in_place("character varying", "varchar(10)"));
    CHECK_FALSE(changed_in_place("text", "varchar(10)"));
    CHECK_FALSE(changed_in_place("numeric(12,2)", "numeric(10,2)"));
    CHECK_FALSE(changed_in_place("numeric(10,2)", "numeric(12,3)"));
    CHECK_FALSE(changed_in_place("integer", "bigint"));

    const auto widen = column_plan(column("c", "varchar(40)"), {"c", "character varying(10)", false, std::nullopt});
    REQUIRE(widen.operations.size() == 1);
    CHECK(widen.operations[0].summary == "change type of public.t.c from character varying(10) to character varying(40)");
    CHECK(widen.operations[0].sql == "ALTER TABLE \"public\".\"t\" ALTER COLUMN \"c\" TYPE character varying(40)");
    CHECK(widen.operations[0].hazards ==
          std::vector<plan::Hazard>{{HazardKind::catalog_only_type_change, "no table rewrite: PostgreSQL only updates the catalog"},
                                    locks_t});

    const auto narrow = column_plan(column("c", "varchar(10)"), {"c", "character varying(40)", false, std::nullopt});
    CHECK(narrow.operations.empty());
    REQUIRE(narrow.not_done.size() == 1);
    CHECK(narrow.not_done[0].reason ==
          "type differs: the database has character varying(40), the plugin declares character varying(10); the change "
          "could rewrite the table or lose data, so plinth leaves it");
    CHECK(narrow.not_done[0].manual_sql ==
          "ALTER TABLE \"public\".\"t\" ALTER COLUMN \"c\" TYPE character varying(10) USING \"c\"::character varying(10)");
    CHECK_FALSE(narrow.blocked());
}

TEST_CASE("nullability that differs is reported both ways, never changed") {
    auto p = column_plan(column("c", "text"), {"c", "text", true, std::nullopt});
    REQUIRE(p.not_done.size() == 1);
    CHECK(p.not_done[0].reason == "nullability differs: the database has NOT NULL, the plugin declares NULL");
    CHECK(p.not_done[0].manual_sql == "ALTER TABLE \"public\".\"t\" ALTER COLUMN \"c\" DROP NOT NULL");
    p = column_plan(column("c", "text", true), {"c", "text", false, std::nullopt});
    REQUIRE(p.not_done.size() == 1);
    CHECK(p.not_done[0].reason == "nullability differs: the database has NULL, the plugin declares NOT NULL");
    CHECK(p.not_done[0].manual_sql == "ALTER TABLE \"public\".\"t\" ALTER COLUMN \"c\" SET NOT NULL");
    CHECK(p.operations.empty());
}

TEST_CASE("within an existing table: columns, primary key, unique constraints, checks, indexes, then foreign keys") {
    auto t = table("t", {column("email", "text"), column("customer_id", "uuid")});
    t.uniques.push_back({"t_email_key", {"email"}});
    t.checks.push_back({"t_email_check", "email <> ''"});
    t.indexes.push_back({"t_email_idx", false, "btree", {"email"}, std::nullopt});
    t.foreign_keys.push_back(foreign_key("t_customer_id_fkey", "customer_id", "customers"));
    auto have = as_created(table("t"));
    have.constraints.clear();
    have.indexes.clear();
    const auto p = make({plugin("shop", {table("customers"), t})}, database({as_created(table("customers")), have}));
    CHECK(summaries(p) == Strings{"add column public.t.email", "add column public.t.customer_id",
                                  "add primary key t_pkey on public.t", "add unique constraint t_email_key on public.t",
                                  "add check t_email_check on public.t", "create index t_email_idx on public.t",
                                  "add foreign key t_customer_id_fkey on public.t"});
}

TEST_CASE("a new column on an empty table is added as declared, NOT NULL or volatile default alike") {
    auto t = table("t", {column("weight", "int", true), column("token", "uuid", true, "gen_random_uuid()")});
    auto have = as_created(table("t"));
    FakeDatabase db;
    const auto p = make(t, have, db);
    CHECK(statements(p) == Strings{"ALTER TABLE \"public\".\"t\" ADD COLUMN \"weight\" integer NOT NULL",
                                   "ALTER TABLE \"public\".\"t\" ADD COLUMN \"token\" uuid DEFAULT (gen_random_uuid()) NOT NULL"});
    CHECK(summaries(p) == Strings{"add column public.t.weight", "add column public.t.token"});
    CHECK(p.not_done.empty());
    CHECK(db.row_questions == std::vector<Strings>{{"public.t"}});
}

TEST_CASE("a NOT NULL column without a default is refused on a table with rows, counting them") {
    auto t = table("t", {column("weight", "int", true)});
    FakeDatabase db;
    db.rows["public.t"] = 3;
    auto p = make(t, as_created(table("t")), db);
    CHECK(p.operations.empty());
    REQUIRE(p.not_done.size() == 1);
    CHECK(p.not_done[0].blocking);
    CHECK(p.blocked());
    CHECK(p.not_done[0].object == "column \"weight\"");
    CHECK(p.not_done[0].reason ==
          "refused: NOT NULL column without a default added to a table with 3 rows; declare a backfill, which fills the "
          "existing rows after the commit before NOT NULL is set (e.g. .backfill(\"coalesce(legacy_priority, 0)\")), "
          "or a default, or add it by hand and fill it");
    CHECK(p.not_done[0].manual_sql ==
          "ALTER TABLE \"public\".\"t\" ADD COLUMN \"weight\" integer; UPDATE \"public\".\"t\" SET \"weight\" = ...; "
          "ALTER TABLE \"public\".\"t\" ALTER COLUMN \"weight\" SET NOT NULL");
    db.rows["public.t"] = 1;
    p = make(t, as_created(table("t")), db);
    REQUIRE(p.not_done.size() == 1);
    CHECK(p.not_done[0].reason ==
          "refused: NOT NULL column without a default added to a table with 1 row; declare a backfill, which fills the "
          "existing rows after the commit before NOT NULL is set (e.g. .backfill(\"coalesce(legacy_priority, 0)\")), "
          "or a default, or add it by hand and fill it");
}

TEST_CASE("a NOT NULL column with a volatile default is refused on a table with rows") {
    auto t = table("t", {column("token", "uuid", true, "gen_random_uuid()")});
    FakeDatabase db;
    db.rows["public.t"] = 2;
    const auto p = make(t, as_created(table("t")), db);
    CHECK(p.operations.empty());
    REQUIRE(p.not_done.size() == 1);
    CHECK(p.not_done[0].blocking);
    CHECK(p.not_done[0].reason ==
          "refused: a NOT NULL column whose default is volatile (gen_random_uuid()) would rewrite every row of the table");
    CHECK(p.not_done[0].manual_sql ==
          "ALTER TABLE \"public\".\"t\" ADD COLUMN \"token\" uuid; UPDATE \"public\".\"t\" SET \"token\" = "
          "(gen_random_uuid()); ALTER TABLE \"public\".\"t\" ALTER COLUMN \"token\" SET DEFAULT (gen_random_uuid()), "
          "ALTER COLUMN \"token\" SET NOT NULL");
}

TEST_CASE("hazard rows_get_null: a nullable column with a volatile default is added in two steps on a table with rows") {
    auto t = table("t", {column("token", "uuid", false, "gen_random_uuid()"), column("seen", "timestamptz", false, "now()")});
    FakeDatabase db;
    db.rows["public.t"] = 5;
    const auto p = make(t, as_created(table("t")), db);
    CHECK(summaries(p) == Strings{"add column public.t.token", "set default of public.t.token", "add column public.t.seen"});
    CHECK(statements(p) == Strings{"ALTER TABLE \"public\".\"t\" ADD COLUMN \"token\" uuid",
                                   "ALTER TABLE \"public\".\"t\" ALTER COLUMN \"token\" SET DEFAULT (gen_random_uuid())",
                                   "ALTER TABLE \"public\".\"t\" ADD COLUMN \"seen\" timestamp with time zone DEFAULT (now())"});
    CHECK(p.operations[0].hazards ==
          std::vector<plan::Hazard>{
              {HazardKind::rows_get_null, "existing rows get NULL: their values are not generated from the volatile default"},
              locks_t});
    CHECK(p.operations[1].hazards == std::vector{locks_t});
    CHECK(p.operations[2].hazards == std::vector{locks_t});  // now() is not volatile
    CHECK(p.not_done.empty());
}

TEST_CASE("hazard primary_key_blocks_writes: a missing primary key is added, with a hazard only when rows exist") {
    auto have = as_created(table("t"));
    have.constraints.clear();
    auto p = make(table("t"), have);
    REQUIRE(p.operations.size() == 1);
    CHECK(p.operations[0].summary == "add primary key t_pkey on public.t");
    CHECK(p.operations[0].sql == "ALTER TABLE \"public\".\"t\" ADD CONSTRAINT \"t_pkey\" PRIMARY KEY (\"id\")");
    CHECK(p.operations[0].hazards == std::vector{locks_t});
    FakeDatabase db;
    db.rows["public.t"] = 1;
    p = make(table("t"), have, db);
    REQUIRE(p.operations.size() == 1);
    CHECK(p.operations[0].hazards ==
          std::vector<plan::Hazard>{
              {HazardKind::primary_key_blocks_writes, "builds a unique index while blocking writes to public.t"}, locks_t});
}

TEST_CASE("a primary key on other columns is reported") {
    auto have = as_created(table("t", {column("tenant", "uuid", true)}));
    have.constraints["t_pkey"].columns = {"id", "tenant"};
    const auto p = make(table("t", {column("tenant", "uuid", true)}), have);
    CHECK(p.operations.empty());
    REQUIRE(p.not_done.size() == 1);
    CHECK(p.not_done[0].object == "primary key \"t_pkey\"");
    CHECK(p.not_done[0].reason == "primary key differs: the database has (id, tenant), the plugin declares (id)");
    CHECK(p.not_done[0].manual_sql ==
          "ALTER TABLE \"public\".\"t\" DROP CONSTRAINT \"t_pkey\", ADD CONSTRAINT \"t_pkey\" PRIMARY KEY (\"id\")");
}

TEST_CASE("unique constraints match by structure whatever their names") {
    auto t = table("t", {column("email", "text")});
    t.uniques.push_back({"t_email_key", {"email"}});
    auto have = as_created(table("t", {column("email", "text"), column("name", "text")}));
    t.columns.push_back(column("name", "text"));
    have.constraints["legacy_email_unique"] = constraint("legacy_email_unique", 'u', {"email"});
    CHECK(make(t, have).operations.empty());

    // The catalog lists a check's columns too; only a unique constraint serves.
    have.constraints["legacy_email_unique"] = constraint("legacy_email_unique", 'c', {"email"}, "CHECK ((email <> ''::text))");
    CHECK(summaries(make(t, have)) == Strings{"add unique constraint t_email_key on public.t"});

    have.constraints.erase("legacy_email_unique");
    have.constraints["t_email_key"] = constraint("t_email_key", 'u', {"name"}, "UNIQUE (name)");
    auto p = make(t, have);
    CHECK(p.operations.empty());
    REQUIRE(p.not_done.size() == 1);
    CHECK(p.not_done[0].object == "unique constraint \"t_email_key\"");
    CHECK(p.not_done[0].reason == "a constraint of that name exists with another definition: UNIQUE (name)");
    CHECK(p.not_done[0].manual_sql ==
          "ALTER TABLE \"public\".\"t\" DROP CONSTRAINT \"t_email_key\", ADD CONSTRAINT \"t_email_key\" UNIQUE (\"email\")");

    have.constraints.erase("t_email_key");
    p = make(t, have);
    CHECK(statements(p) == Strings{"ALTER TABLE \"public\".\"t\" ADD CONSTRAINT \"t_email_key\" UNIQUE (\"email\")"});
    CHECK(summaries(p) == Strings{"add unique constraint t_email_key on public.t"});
    CHECK(p.operations[0].hazards == std::vector{locks_t});
}

TEST_CASE("hazard unique_blocks_writes: a unique constraint added to a table with rows") {
    auto t = table("t", {column("email", "text")});
    t.uniques.push_back({"t_email_key", {"email"}});
    FakeDatabase db;
    db.rows["public.t"] = 4;
    const auto p = make(t, as_created(table("t", {column("email", "text")})), db);
    REQUIRE(p.operations.size() == 1);
    CHECK(p.operations[0].phase == plan::Phase::transaction);
    CHECK(p.operations[0].hazards ==
          std::vector<plan::Hazard>{{HazardKind::unique_blocks_writes,
                                     "builds a unique index while blocking writes to public.t; fails if existing rows "
                                     "are not unique"},
                                    locks_t});
}

TEST_CASE("checks match by name and compare as the server spells them") {
    auto t = table("t", {column("amount", "int")});
    t.checks.push_back({"t_amount_check", "amount >= 0"});
    auto have = as_created(t);
    have.constraints["t_amount_check"].definition = "CHECK ((amount >= 0))";
    const model::DeclaredDefinition question{"public.t", 'c', "amount >= 0"};

    FakeDatabase same;
    same.definitions[question] = "CHECK ((amount >= 0))";
    auto p = make(t, have, same);
    CHECK(p.operations.empty());
    CHECK(p.not_done.empty());
    CHECK(same.definition_questions == std::vector<std::vector<model::DeclaredDefinition>>{{question}});

    have.constraints["t_amount_check"].definition = "CHECK ((amount > 0))";
    p = make(t, have, same);
    REQUIRE(p.not_done.size() == 1);
    CHECK(p.not_done[0].object == "check \"t_amount_check\"");
    CHECK(p.not_done[0].reason ==
          "a check of that name exists with another definition: the database has CHECK ((amount > 0)), the plugin "
          "declares CHECK ((amount >= 0))");
    CHECK(p.not_done[0].manual_sql ==
          "ALTER TABLE \"public\".\"t\" DROP CONSTRAINT \"t_amount_check\", ADD CONSTRAINT \"t_amount_check\" CHECK "
          "(amount >= 0)");

    FakeDatabase rejecting;  // a check the server cannot spell is left to the migration to report
    CHECK(make(t, have, rejecting).not_done.empty());
}

TEST_CASE("hazard check_validation_scan: a check the database holds NOT VALID is validated after the commit") {
    auto t = table("t", {column("amount", "int")});
    t.checks.push_back({"t_amount_check", "amount >= 0"});
    auto have = as_created(t);
    have.constraints["t_amount_check"].definition = "CHECK ((amount >= 0)) NOT VALID";
    have.constraints["t_amount_check"].validated = false;
    FakeDatabase db;
    db.definitions[{"public.t", 'c', "amount >= 0"}] = "CHECK ((amount >= 0))";
    const auto p = make(t, have, db);
    CHECK(p.not_done.empty());
    REQUIRE(p.operations.size() == 1);
    CHECK(p.operations[0].summary == "validate check t_amount_check on public.t");
    CHECK(p.operations[0].sql == "ALTER TABLE \"public\".\"t\" VALIDATE CONSTRAINT \"t_amount_check\"");
    CHECK(p.operations[0].phase == plan::Phase::after_commit);
    CHECK(p.operations[0].hazards ==
          std::vector<plan::Hazard>{{HazardKind::check_validation_scan, "scans public.t without blocking writes"}});
}

TEST_CASE("hazards added_not_valid and check_validation_may_fail: a check added to a table with rows") {
    auto t = table("t", {column("amount", "int")});
    t.checks.push_back({"t_amount_check", "amount >= 0"});
    const auto have = as_created(table("t", {column("amount", "int")}));
    auto p = make(t, have);
    CHECK(statements(p) == Strings{"ALTER TABLE \"public\".\"t\" ADD CONSTRAINT \"t_amount_check\" CHECK (amount >= 0)"});
    CHECK(p.operations[0].hazards == std::vector{locks_t});

    FakeDatabase db;
    db.rows["public.t"] = 1;
    p = make(t, have, db);
    REQUIRE(p.operations.size() == 2);
    CHECK(p.operations[0].summary == "add check t_amount_check on public.t (NOT VALID)");
    CHECK(p.operations[0].sql == "ALTER TABLE \"public\".\"t\" ADD CONSTRAINT \"t_amount_check\" CHECK (amount >= 0) NOT VALID");
    CHECK(p.operations[0].phase == plan::Phase::transaction);
    CHECK(p.operations[0].hazards ==
          std::vector<plan::Hazard>{{HazardKind::added_not_valid,
                                     "checked for new rows at once; existing rows are validated after the commit"},
                                    locks_t});
    CHECK(p.operations[1].summary == "validate check t_amount_check on public.t");
    CHECK(p.operations[1].sql == "ALTER TABLE \"public\".\"t\" VALIDATE CONSTRAINT \"t_amount_check\"");
    CHECK(p.operations[1].phase == plan::Phase::after_commit);
    CHECK(p.operations[1].hazards ==
          std::vector<plan::Hazard>{{HazardKind::check_validation_may_fail,
                                     "scans public.t without blocking writes; fails if existing rows violate it"}});
}

TEST_CASE("the server is asked to spell checks once per distinct set of columns") {
    auto a = table("a", {column("amount", "int")});
    a.checks.push_back({"a_amount_check", "amount >= 0"});
    auto b = table("b", {column("amount", "int")});
    b.checks.push_back({"b_amount_check", "amount < 10"});
    auto c = table("c", {column("amount", "bigint")});
    c.checks.push_back({"c_amount_check", "amount >= 0"});
    FakeDatabase db;
    make({plugin("shop", {a, b, c})}, database({as_created(a), as_created(b), as_created(c)}), db);
    // a and b have the same columns, so b's check is spelled on a's copy; c differs by a type.
    CHECK(db.definition_questions == std::vector<std::vector<model::DeclaredDefinition>>{
                                         {{"public.a", 'c', "amount < 10"},
                                          {"public.a", 'c', "amount >= 0"},
                                          {"public.c", 'c', "amount >= 0"}}});
}

TEST_CASE("indexes match by name and structure; a plain one under another name serves") {
    auto t = table("t", {column("label", "text"), column("other", "text")});
    t.indexes.push_back({"t_label_idx", false, "btree", {"label"}, std::nullopt});
    auto have = as_created(table("t", {column("label", "text"), column("other", "text")}));
    CHECK(statements(make(t, have)) ==
          Strings{"CREATE INDEX \"t_label_idx\" ON \"public\".\"t\" USING btree (\"label\")"});

    have.indexes["legacy_label"] = actual_index("legacy_label", {"label"});
    auto p = make(t, have);
    CHECK(p.operations.empty());
    CHECK(p.not_done.empty());

    have.indexes["legacy_label"].valid = false;  // an invalid one does not serve
    CHECK(summaries(make(t, have)) == Strings{"create index t_label_idx on public.t"});

    have.indexes.erase("legacy_label");
    have.indexes["t_label_idx"] = actual_index("t_label_idx", {"\"label\""});
    CHECK(make(t, have).not_done.empty());  // the catalog quotes a column only when it must

    // Other keys or uniqueness: not the same index, left alone. Another method: see the similarity
    // index tests, it is rebuilt.
    for (const auto& changed : {actual_index("t_label_idx", {"other"}), actual_index("t_label_idx", {"label"}, "btree", true)}) {
        have.indexes["t_label_idx"] = changed;
        p = make(t, have);
        CHECK(p.operations.empty());
        REQUIRE(p.not_done.size() == 1);
        CHECK(p.not_done[0].object == "index \"t_label_idx\"");
        CHECK(p.not_done[0].reason == "an index of that name exists with another definition (" + changed.method + " on " +
                                          changed.keys[0] + ")");
        CHECK(p.not_done[0].manual_sql ==
              "DROP INDEX CONCURRENTLY \"public\".\"t_label_idx\"; CREATE INDEX CONCURRENTLY IF NOT EXISTS \"t_label_idx\" "
              "ON \"public\".\"t\" USING btree (\"label\")");
        CHECK_FALSE(p.not_done[0].blocking);
    }
}

TEST_CASE("expression keys and predicates compare as the server spells them") {
    auto t = table("t", {column("label", "text")});
    t.indexes.push_back({"t_lower_idx", false, "btree", {"(lower(label))"}, std::nullopt});
    t.indexes.push_back({"t_partial_idx", false, "btree", {"label"}, "label IS NOT NULL"});
    auto have = as_created(t);
    const model::DeclaredDefinition lower{"public.t", 'i', "USING btree (((lower(label))))"};
    const model::DeclaredDefinition partial{"public.t", 'i', "USING btree (\"label\") WHERE (label IS NOT NULL)"};
    FakeDatabase db;
    db.definitions[lower] = "lower(label)";
    db.definitions[partial] = "label WHERE label IS NOT NULL";
    auto p = make(t, have, db);
    CHECK(p.operations.empty());
    CHECK(p.not_done.empty());
    CHECK(db.definition_questions == std::vector<std::vector<model::DeclaredDefinition>>{{partial, lower}});

    have.indexes["t_lower_idx"].keys = {"upper(label)"};
    have.indexes["t_partial_idx"].predicate = "label <> ''::text";
    p = make(t, have, db);
    CHECK(reasons(p) == Strings{"an index of that name exists with another definition (btree on upper(label))",
                                "an index of that name exists with another definition (btree on label WHERE label <> "
                                "''::text)"});
    CHECK(p.not_done[0].manual_sql ==
          "DROP INDEX CONCURRENTLY \"public\".\"t_lower_idx\"; CREATE INDEX CONCURRENTLY IF NOT EXISTS \"t_lower_idx\" ON "
          "\"public\".\"t\" USING btree (((lower(label))))");

    FakeDatabase rejecting;  // the server cannot spell them: only place and presence count
    CHECK(make(t, have, rejecting).not_done.empty());

    have.indexes["t_partial_idx"].predicate.reset();  // a predicate missing on one side needs no question
    CHECK(reasons(make(t, have, rejecting)) ==
          Strings{"an index of that name exists with another definition (btree on label)"});
}

TEST_CASE("an expression or partial index under another name does not serve") {
    auto t = table("t", {column("label", "text")});
    t.indexes.push_back({"t_lower_idx", false, "btree", {"(lower(label))"}, std::nullopt});
    auto have = as_created(table("t", {column("label", "text")}));
    have.indexes["legacy_lower"] = actual_index("legacy_lower", {"lower(label)"}, "btree", false, true);
    CHECK(statements(make(t, have)) ==
          Strings{"CREATE INDEX \"t_lower_idx\" ON \"public\".\"t\" USING btree (((lower(label))))"});
}

TEST_CASE("hazard concurrent_index_build: a missing index on a table with rows is built after the commit") {
    auto t = table("t", {column("label", "text")});
    t.indexes.push_back({"t_label_idx", true, "btree", {"label"}, "label IS NOT NULL"});
    FakeDatabase db;
    db.rows["public.t"] = 10;
    const auto p = make(t, as_created(table("t", {column("label", "text")})), db);
    REQUIRE(p.operations.size() == 1);
    CHECK(p.operations[0].summary == "create index t_label_idx on public.t (concurrently)");
    CHECK(p.operations[0].sql ==
          "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS \"t_label_idx\" ON \"public\".\"t\" USING btree (\"label\") "
          "WHERE (label IS NOT NULL)");
    CHECK(p.operations[0].phase == plan::Phase::after_commit);
    CHECK(p.operations[0].hazards ==
          std::vector<plan::Hazard>{{HazardKind::concurrent_index_build,
                                     "built CONCURRENTLY after the commit: does not block writes; retried on the next "
                                     "start if interrupted"}});
}

TEST_CASE("hazards invalid_index_dropped and concurrent_index_rebuild: an index left invalid is rebuilt") {
    auto t = table("t", {column("label", "text")});
    t.indexes.push_back({"t_label_idx", false, "btree", {"label"}, std::nullopt});
    auto have = as_created(t);
    have.indexes["t_label_idx"].valid = false;
    auto p = make(t, have);
    CHECK(summaries(p) == Strings{"drop invalid index t_label_idx on public.t",
                                  "rebuild index t_label_idx on public.t (concurrently)"});
    CHECK(statements(p) ==
          Strings{"DROP INDEX CONCURRENTLY IF EXISTS \"public\".\"t_label_idx\"",
                  "CREATE INDEX CONCURRENTLY IF NOT EXISTS \"t_label_idx\" ON \"public\".\"t\" USING btree (\"label\")"});
    CHECK(p.operations[0].phase == plan::Phase::after_commit);
    CHECK(p.operations[1].phase == plan::Phase::after_commit);
    CHECK(p.operations[0].hazards ==
          std::vector<plan::Hazard>{{HazardKind::invalid_index_dropped,
                                     "the index was left invalid by an interrupted concurrent build and is rebuilt"}});
    CHECK(p.operations[1].hazards ==
          std::vector<plan::Hazard>{
              {HazardKind::concurrent_index_rebuild, "built CONCURRENTLY after the commit: does not block writes"}});

    have.indexes["t_label_idx"].building = true;  // a build in progress is left to finish
    p = make(t, have);
    CHECK(p.operations.empty());
    CHECK(p.not_done.empty());
}

TEST_CASE("an index name taken by another relation blocks the migration") {
    auto t = table("t", {column("label", "text")});
    t.indexes.push_back({"t_label_idx", false, "btree", {"label"}, std::nullopt});
    auto actual = database({as_created(table("t", {column("label", "text")}))});
    actual.relation_names.insert("public.t_label_idx");  // a sequence, say
    const auto p = make({plugin("shop", {t})}, actual);
    CHECK(p.operations.empty());
    REQUIRE(p.not_done.size() == 1);
    CHECK(p.not_done[0].blocking);
    CHECK(p.blocked());
    CHECK(p.not_done[0].object == "index \"t_label_idx\"");
    CHECK(p.not_done[0].reason == "the name is taken by another relation in schema public");
    CHECK(p.not_done[0].manual_sql == "");
}

TEST_CASE("foreign keys match by structure and actions, whatever their names") {
    auto customers = table("customers");
    auto orders = table("orders", {column("customer_id", "uuid")});
    orders.foreign_keys.push_back(foreign_key("orders_customer_id_fkey", "customer_id", "customers", model::FkAction::cascade));
    auto have = as_created(table("orders", {column("customer_id", "uuid")}));
    auto run = [&] { return make({plugin("shop", {customers, orders})}, database({as_created(customers), have})); };

    have.constraints["fk_legacy"] = actual_foreign_key("fk_legacy", "customer_id", "customers", 'c');
    auto p = run();
    CHECK(p.operations.empty());
    CHECK(p.not_done.empty());

    have.constraints["fk_legacy"].on_delete = 'a';  // other actions: not the declared key
    p = run();
    CHECK(summaries(p) == Strings{"add foreign key orders_customer_id_fkey on public.orders"});
    CHECK(statements(p) ==
          Strings{"ALTER TABLE \"public\".\"orders\" ADD CONSTRAINT \"orders_customer_id_fkey\" FOREIGN KEY (\"customer_id\") "
                  "REFERENCES \"public\".\"customers\" (\"id\") ON DELETE CASCADE"});
    CHECK(p.operations[0].hazards == std::vector{locks_orders, locks_customers});

    have.constraints.erase("fk_legacy");
    have.constraints["orders_customer_id_fkey"] = actual_foreign_key(
        "orders_customer_id_fkey", "customer_id", "customers", 'a', "FOREIGN KEY (customer_id) REFERENCES customers(id)");
    p = run();
    CHECK(p.operations.empty());
    REQUIRE(p.not_done.size() == 1);
    CHECK(p.not_done[0].object == "foreign key \"orders_customer_id_fkey\"");
    CHECK(p.not_done[0].reason ==
          "a constraint of that name exists with another definition: FOREIGN KEY (customer_id) REFERENCES customers(id)");
    CHECK(p.not_done[0].manual_sql ==
          "ALTER TABLE \"public\".\"orders\" DROP CONSTRAINT \"orders_customer_id_fkey\", ADD CONSTRAINT "
          "\"orders_customer_id_fkey\" FOREIGN KEY (\"customer_id\") REFERENCES \"public\".\"customers\" (\"id\") ON DELETE "
          "CASCADE");
}

TEST_CASE("both actions are spelled when they are not NO ACTION") {
    auto orders = table("orders", {column("customer_id", "uuid")});
    auto fk = foreign_key("orders_customer_id_fkey", "customer_id", "customers", model::FkAction::set_null);
    fk.on_update = model::FkAction::restrict;
    orders.foreign_keys.push_back(fk);
    const auto p = make({plugin("shop", {table("customers"), orders})},
                        database({as_created(table("customers")), as_created(table("orders", {column("customer_id", "uuid")}))}));
    CHECK(statements(p) ==
          Strings{"ALTER TABLE \"public\".\"orders\" ADD CONSTRAINT \"orders_customer_id_fkey\" FOREIGN KEY (\"customer_id\") "
                  "REFERENCES \"public\".\"customers\" (\"id\") ON DELETE SET NULL ON UPDATE RESTRICT"});
}

TEST_CASE("hazard foreign_key_validation_may_fail: keys added NOT VALID or left so are validated after the commit") {
    auto customers = table("customers");
    auto orders = table("orders", {column("customer_id", "uuid")});
    orders.foreign_keys.push_back(foreign_key("orders_customer_id_fkey", "customer_id", "customers"));
    orders.indexes.push_back({"orders_customer_id_idx", false, "btree", {"customer_id"}, std::nullopt});
    auto have = as_created(table("orders", {column("customer_id", "uuid")}));
    FakeDatabase db;
    db.rows["public.orders"] = 2;
    auto p = make({plugin("shop", {customers, orders})}, database({as_created(customers), have}), db);
    // Foreign keys come after every table's other work, and after-commit work comes last.
    CHECK(summaries(p) == Strings{"add foreign key orders_customer_id_fkey on public.orders (NOT VALID)",
                                  "create index orders_customer_id_idx on public.orders (concurrently)",
                                  "validate foreign key orders_customer_id_fkey on public.orders"});
    CHECK(p.operations[0].sql ==
          "ALTER TABLE \"public\".\"orders\" ADD CONSTRAINT \"orders_customer_id_fkey\" FOREIGN KEY (\"customer_id\") "
          "REFERENCES \"public\".\"customers\" (\"id\") NOT VALID");
    CHECK(p.operations[0].phase == plan::Phase::transaction);
    CHECK(p.operations[0].hazards ==
          std::vector<plan::Hazard>{{HazardKind::added_not_valid,
                                     "checked for new rows at once; existing rows are validated after the commit"},
                                    locks_orders, locks_customers});
    CHECK(p.operations[2].sql == "ALTER TABLE \"public\".\"orders\" VALIDATE CONSTRAINT \"orders_customer_id_fkey\"");
    CHECK(p.operations[2].phase == plan::Phase::after_commit);
    const std::vector<plan::Hazard> validation{
        {HazardKind::foreign_key_validation_may_fail, "scans public.orders without blocking writes; fails if rows have no match"}};
    CHECK(p.operations[2].hazards == validation);

    have.constraints["fk_legacy"] = actual_foreign_key("fk_legacy", "customer_id", "customers");
    have.constraints["fk_legacy"].validated = false;
    have.indexes["orders_customer_id_idx"] = as_created(orders).indexes.at("orders_customer_id_idx");
    p = make({plugin("shop", {customers, orders})}, database({as_created(customers), have}), db);
    REQUIRE(p.operations.size() == 1);
    CHECK(p.operations[0].summary == "validate foreign key fk_legacy on public.orders");
    CHECK(p.operations[0].sql == "ALTER TABLE \"public\".\"orders\" VALIDATE CONSTRAINT \"fk_legacy\"");
    CHECK(p.operations[0].hazards == validation);
}

TEST_CASE("foreign keys that close a cycle are added once both tables exist") {
    auto a = table("a", {column("b_id", "uuid")});
    a.foreign_keys.push_back(foreign_key("a_b_id_fkey", "b_id", "b"));
    a.indexes.push_back({"a_b_id_idx", false, "btree", {"b_id"}, std::nullopt});
    auto b = table("b", {column("a_id", "uuid")});
    b.foreign_keys.push_back(foreign_key("b_a_id_fkey", "a_id", "a", model::FkAction::cascade));
    const auto p = make({plugin("shop", {b, a})}, database());
    REQUIRE(p.operations.size() == 7);
    CHECK(summaries(p) == Strings{"create table public.a", "add primary key a_pkey on public.a",
                                  "create index a_b_id_idx on public.a", "create table public.b",
                                  "add primary key b_pkey on public.b",
                                  "add foreign key a_b_id_fkey on public.a (closes a cycle)",
                                  "add foreign key b_a_id_fkey on public.b (closes a cycle)"});
    CHECK(statements(p)[0] == "CREATE TABLE \"public\".\"a\" (\n  \"id\" uuid NOT NULL,\n  \"b_id\" uuid\n)");
    CHECK(statements(p)[1] == "ALTER TABLE \"public\".\"a\" ADD CONSTRAINT \"a_pkey\" PRIMARY KEY (\"id\")");
    CHECK(statements(p)[5] ==
          "ALTER TABLE \"public\".\"a\" ADD CONSTRAINT \"a_b_id_fkey\" FOREIGN KEY (\"b_id\") REFERENCES \"public\".\"b\" (\"id\")");
    CHECK(statements(p)[6] ==
          "ALTER TABLE \"public\".\"b\" ADD CONSTRAINT \"b_a_id_fkey\" FOREIGN KEY (\"a_id\") REFERENCES \"public\".\"a\" (\"id\") "
          "ON DELETE CASCADE");
}

TEST_CASE("a table whose name another relation holds blocks the migration") {
    auto t = table("t");
    t.indexes.push_back({"t_id_idx", false, "btree", {"id"}, std::nullopt});
    auto actual = database();
    actual.relation_names.insert("public.t");  // a view
    const auto p = make({plugin("shop", {t})}, actual);
    CHECK(p.operations.empty());
    REQUIRE(p.not_done.size() == 1);
    CHECK(p.not_done[0].plugin == "shop");
    CHECK(p.not_done[0].table == "public.t");
    CHECK(p.not_done[0].object == "");
    CHECK(p.not_done[0].reason == "the name is taken by another kind of relation (a view, sequence or index)");
    CHECK(p.not_done[0].manual_sql == "");
    CHECK(p.not_done[0].blocking);
    CHECK(p.blocked());
}

TEST_CASE("what no plugin declares is reported and left alone; a skipped plugin's tables are named as its own") {
    auto have = as_created(table("t", {column("legacy", "text")}));
    auto actual = database({have, as_created(table("stray")), as_created(table("widgets"))});
    const auto p = make({plugin("shop", {table("t")})}, actual, {}, {{"public.widgets", "widgets"}});
    CHECK(p.operations.empty());
    REQUIRE(p.not_done.size() == 3);
    CHECK(p.not_done[0].plugin == "");
    CHECK(p.not_done[0].table == "public.stray");
    CHECK(p.not_done[0].reason == "not declared by any plugin; left alone");
    CHECK(p.not_done[0].manual_sql == "");
    CHECK(p.not_done[1].plugin == "shop");
    CHECK(p.not_done[1].table == "public.t");
    CHECK(p.not_done[1].object == "column \"legacy\"");
    CHECK(p.not_done[1].reason == "not declared by the plugin; left alone");
    CHECK(p.not_done[1].manual_sql == "ALTER TABLE \"public\".\"t\" DROP COLUMN \"legacy\"");
    CHECK(p.not_done[2].plugin == "widgets");
    CHECK(p.not_done[2].table == "public.widgets");
    CHECK(p.not_done[2].reason == "its plugin was skipped this run; left alone");
    for (const auto& nd : p.not_done) CHECK_FALSE(nd.blocking);
    CHECK_FALSE(p.blocked());
}

TEST_CASE("without pgvector a vector column is real[] with a length check, and a note says so") {
    auto items = table("items", {column("embedding", "vector(3)")});
    auto actual = database();
    actual.vector_available = false;
    actual.vector_installed = false;
    const auto p = make({plugin("shop", {items})}, actual);
    CHECK(statements(p) == Strings{"CREATE TABLE \"public\".\"items\" (\n"
                                   "  \"id\" uuid NOT NULL,\n"
                                   "  \"embedding\" real[],\n"
                                   "  CONSTRAINT \"items_embedding_dims_check\" CHECK (\"embedding\" IS NULL OR "
                                   "(array_ndims(\"embedding\") = 1 AND array_length(\"embedding\", 1) = 3))\n"
                                   ")",
                                   "ALTER TABLE \"public\".\"items\" ADD CONSTRAINT \"items_pkey\" PRIMARY KEY (\"id\")"});
    CHECK(p.notes == Strings{"the server has no pgvector extension: public.items.embedding is real[] with a check of 3 "
                             "elements instead of vector(3)"});

    // A check name PostgreSQL would truncate is shortened with a hash instead.
    const std::string long_table(40, 'x');
    const auto long_plan = make({plugin("shop", {table(long_table, {column("embedding_of_document", "vector(8)")})})}, actual);
    const auto& sql = long_plan.operations.at(0).sql;
    const auto check = sql.find("\" CHECK (");
    const auto start = sql.rfind("CONSTRAINT \"", check) + 12;
    const auto name = sql.substr(start, check - start);
    CHECK(name.size() == 63);
    CHECK(name.substr(0, 47) == (long_table + "_embedding_of_").substr(0, 46) + "_");
    CHECK(name.find_first_not_of("0123456789abcdef", 47) == std::string::npos);
}

TEST_CASE("with pgvector a vector column stays vector(N), and the extension is created once if missing") {
    auto a = table("a", {column("e", "vector(3)")});
    auto b = table("b", {column("e", "vector(4)")});
    auto actual = database();
    actual.vector_installed = false;
    auto p = make({plugin("shop", {a, b})}, actual);
    CHECK(summaries(p) == Strings{"create extension vector", "create table public.a", "add primary key a_pkey on public.a",
                                  "create table public.b", "add primary key b_pkey on public.b"});
    CHECK(p.operations[0].sql == "CREATE EXTENSION IF NOT EXISTS vector SCHEMA public");
    CHECK(p.operations[0].table == "");
    CHECK(p.operations[1].sql.find("\"e\" vector(3)") != std::string::npos);
    CHECK(p.notes.empty());
    actual.vector_installed = true;
    CHECK(summaries(make({plugin("shop", {a, b})}, actual)) ==
          Strings{"create table public.a", "add primary key a_pkey on public.a", "create table public.b",
                  "add primary key b_pkey on public.b"});
}

TEST_CASE("the database is asked each kind of question once, for exactly what the plan needs") {
    auto a = table("a", {column("label", "text", false, "'x'")});
    a.indexes.push_back({"a_label_idx", false, "btree", {"label"}, std::nullopt});
    auto b = table("b", {column("n", "int")});
    b.checks.push_back({"b_n_check", "n > 0"});
    auto c = table("c", {column("n", "int")});  // in step: no question about it
    auto have_a = as_created(table("a", {column("label", "text", false, "'x'")}));
    have_a.columns[1].default_sql = "'y'::text";
    FakeDatabase db;
    db.rows["public.b"] = 1;
    const auto p = make({plugin("shop", {a, b, c})}, database({have_a, as_created(table("b", {column("n", "int")})), as_created(c)}), db);
    CHECK(db.row_questions == std::vector<Strings>{{"public.a", "public.b"}});
    CHECK(db.default_questions == std::vector<std::vector<model::DeclaredDefault>>{{{"text", "'x'"}}});
    CHECK(db.definition_questions.empty());
    CHECK(summaries(p) == Strings{"create index a_label_idx on public.a", "add check b_n_check on public.b (NOT VALID)",
                                  "validate check b_n_check on public.b"});
}

TEST_CASE("the same input gives the same plan, whatever the order of the declarations") {
    auto customers = table("customers", {column("email", "text", true)});
    customers.uniques.push_back({"customers_email_key", {"email"}});
    auto orders = table("orders", {column("customer_id", "uuid", true), column("token", "uuid", false, "gen_random_uuid()")});
    orders.foreign_keys.push_back(foreign_key("orders_customer_id_fkey", "customer_id", "customers"));
    orders.indexes.push_back({"orders_customer_id_idx", false, "btree", {"customer_id"}, std::nullopt});
    auto notes = table("notes", {column("body", "text", true)});
    const auto actual = database({as_created(table("orders", {column("customer_id", "uuid", true)})),
                                  as_created(table("stray"))});
    FakeDatabase db;
    db.rows["public.orders"] = 7;
    const auto first = make({plugin("shop", {customers, orders, notes})}, actual, db).text();
    CHECK(make({plugin("shop", {customers, orders, notes})}, actual, db).text() == first);
    CHECK(make({plugin("shop", {notes, orders, customers})}, actual, db).text() == first);
}

TEST_CASE("a NotDone is written one way per style") {
    const plan::NotDone item{"core", "public.t", "column \"c\"", "why", "ALTER TABLE x", true};
    CHECK(plan::render_not_done(item, plan::NotDoneStyle::plan_entry) ==
          "- BLOCKING [core] public.t column \"c\": why\n  by hand: ALTER TABLE x;\n");
    CHECK(plan::render_not_done(item, plan::NotDoneStyle::report) ==
          "plugin \"core\", table public.t column \"c\": why\n    by hand: ALTER TABLE x");
    CHECK(plan::render_not_done(item, plan::NotDoneStyle::warning) ==
          "plugin \"core\", table public.t column \"c\": why (by hand: ALTER TABLE x)");
    CHECK(plan::render_not_done(item, plan::NotDoneStyle::drift) == "public.t column \"c\": why");

    const plan::NotDone bare{"", "public.stray", "", "not declared by any plugin; left alone", "", false};
    CHECK(plan::render_not_done(bare, plan::NotDoneStyle::plan_entry) ==
          "- public.stray: not declared by any plugin; left alone\n");
    CHECK(plan::render_not_done(bare, plan::NotDoneStyle::report) == "table public.stray: not declared by any plugin; left alone");
    CHECK(plan::render_not_done(bare, plan::NotDoneStyle::warning) ==
          "table public.stray: not declared by any plugin; left alone");
    CHECK(plan::render_not_done(bare, plan::NotDoneStyle::drift) == "public.stray: not declared by any plugin; left alone");
}

TEST_CASE("the plan as text: operations with their hazards, what will not be done, and notes") {
    auto t = table("t", {column("weight", "int", true)});
    t.indexes.push_back({"t_id_idx", false, "btree", {"id"}, std::nullopt});
    auto items = table("items", {column("e", "vector(2)")});
    auto actual = database({as_created(table("t"))});
    actual.vector_available = false;
    FakeDatabase db;
    db.rows["public.t"] = 2;
    const auto p = make({plugin("shop", {t, items})}, actual, db);
    CHECK(p.text() ==
          "plan: 3 operations (2 in one transaction, 1 after the commit)\n"
          "\n"
          "1. [shop] create table public.items\n"
          "CREATE TABLE \"public\".\"items\" (\n"
          "  \"id\" uuid NOT NULL,\n"
          "  \"e\" real[],\n"
          "  CONSTRAINT \"items_e_dims_check\" CHECK (\"e\" IS NULL OR (array_ndims(\"e\") = 1 AND array_length(\"e\", 1) = 2))\n"
          ");\n"
          "\n"
          "2. [shop] add primary key items_pkey on public.items\n"
          "ALTER TABLE \"public\".\"items\" ADD CONSTRAINT \"items_pkey\" PRIMARY KEY (\"id\");\n"
          "\n"
          "3. [shop] create index t_id_idx on public.t (concurrently) -- after the commit\n"
          "CREATE INDEX CONCURRENTLY IF NOT EXISTS \"t_id_idx\" ON \"public\".\"t\" USING btree (\"id\");\n"
          "-- hazard: built CONCURRENTLY after the commit: does not block writes; retried on the next start if interrupted\n"
          "\n"
          "will not do:\n"
          "- BLOCKING [shop] public.t column \"weight\": refused: NOT NULL column without a default added to a table with 2 "
          "rows; declare a backfill, which fills the existing rows after the commit before NOT NULL is set (e.g. "
          ".backfill(\"coalesce(legacy_priority, 0)\")), or a default, or add it by hand and fill it\n"
          "  by hand: ALTER TABLE \"public\".\"t\" ADD COLUMN \"weight\" integer; UPDATE \"public\".\"t\" SET \"weight\" = ...; "
          "ALTER TABLE \"public\".\"t\" ALTER COLUMN \"weight\" SET NOT NULL;\n"
          "\n"
          "notes:\n"
          "- the server has no pgvector extension: public.items.e is real[] with a check of 2 elements instead of vector(2)\n");
    CHECK(p.operations[2].hazard_texts() ==
          Strings{"built CONCURRENTLY after the commit: does not block writes; retried on the next start if interrupted"});
}

TEST_CASE("schema hashes follow every declared detail, and the desired hash every plugin") {
    auto t = table("t", {column("label", "text")});
    const auto base = plugin("shop", {t});
    const auto hash = plan::schema_hash(base);
    CHECK(hash.size() == 16);
    CHECK(hash.find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(plan::schema_hash(base) == hash);
    auto changed = base;
    changed.tables[0].columns[1].default_sql = "'x'";
    CHECK(plan::schema_hash(changed) != hash);
    changed = base;
    changed.tables[0].columns[1].type = "TEXT";  // the same type, spelled otherwise
    CHECK(plan::schema_hash(changed) == hash);
    CHECK(plan::desired_hash({base}) != plan::desired_hash({base, plugin("other", {})}));
    CHECK(plan::desired_hash({base}) == plan::desired_hash({base}));
}

TEST_CASE("hazard locks_existing_table: statements locking tables that existed run last, after every new table") {
    auto agents = table("agents", {column("name", "text")});  // exists without "name"
    auto notes = table("notes", {column("agent_id", "uuid", true)});
    notes.foreign_keys.push_back(foreign_key("notes_agent_id_fkey", "agent_id", "agents"));
    auto zebras = table("zebras", {column("note_id", "uuid")});  // a key between two new tables stays inline
    zebras.foreign_keys.push_back(foreign_key("zebras_note_id_fkey", "note_id", "notes"));
    const std::vector plugins{plugin("core", {agents}), plugin("notes", {notes, zebras})};
    const auto actual = database({as_created(table("agents"))});
    const auto p = make(plugins, actual);
    CHECK(summaries(p) == Strings{"create table public.notes", "add primary key notes_pkey on public.notes",
                                  "create table public.zebras", "add primary key zebras_pkey on public.zebras",
                                  "add column public.agents.name", "add foreign key notes_agent_id_fkey on public.notes"});
    CHECK(p.operations[0].sql.find("FOREIGN KEY") == std::string::npos);
    CHECK(p.operations[2].sql.find("CONSTRAINT \"zebras_note_id_fkey\" FOREIGN KEY") != std::string::npos);
    CHECK(p.operations[0].locks.empty());
    CHECK(p.operations[1].locks.empty());
    CHECK(p.operations[2].hazards.empty());
    CHECK(p.operations[4].locks == std::vector<plan::TableLock>{{"public.agents", "ACCESS EXCLUSIVE"}});
    CHECK(p.operations[5].sql ==
          "ALTER TABLE \"public\".\"notes\" ADD CONSTRAINT \"notes_agent_id_fkey\" FOREIGN KEY (\"agent_id\") REFERENCES "
          "\"public\".\"agents\" (\"id\")");
    CHECK(p.operations[5].locks == std::vector<plan::TableLock>{{"public.agents", "SHARE ROW EXCLUSIVE"}});
    const auto text = p.text();
    CHECK(text.find("6. [notes] add foreign key notes_agent_id_fkey on public.notes\n"
                    "ALTER TABLE \"public\".\"notes\" ADD CONSTRAINT \"notes_agent_id_fkey\" FOREIGN KEY (\"agent_id\") "
                    "REFERENCES \"public\".\"agents\" (\"id\");\n"
                    "-- hazard: locks public.agents (SHARE ROW EXCLUSIVE) until the migration commits: its writers wait\n") !=
          std::string::npos);
    CHECK(text.find("-- hazard: locks public.agents (ACCESS EXCLUSIVE) until the migration commits: its readers and "
                    "writers wait\n") != std::string::npos);
    CHECK(make(plugins, actual).text() == text);  // deterministic
}

TEST_CASE("hazard not_null_relaxed: a NOT NULL column without a default no longer declared loses NOT NULL, and stays") {
    auto declared = table("t", {column("label", "text")});
    auto have = as_created(table("t", {column("label", "text"), column("weight", "int", true),
                                       column("size", "int", true, "0"), column("note", "text")}));
    const auto p = make(declared, have);
    CHECK(summaries(p) == Strings{"drop NOT NULL of public.t.weight (no longer declared)"});
    CHECK(statements(p) == Strings{"ALTER TABLE \"public\".\"t\" ALTER COLUMN \"weight\" DROP NOT NULL"});
    REQUIRE(p.operations.size() == 1);
    CHECK(p.operations[0].hazards ==
          std::vector<plan::Hazard>{{HazardKind::not_null_relaxed,
                                     "the plugin no longer declares this NOT NULL column without a default: NOT NULL is "
                                     "dropped so that its inserts keep working (catalog only: no row is changed, nothing "
                                     "is lost)"},
                                    locks_t});
    // Every undeclared column is still reported and left alone; the one with a default keeps NOT NULL.
    CHECK(p.not_done.size() == 3);
}

TEST_CASE("the headline says whether the database is in sync, differs in ways plinth leaves alone, or is blocked") {
    auto declared = table("t", {column("label", "text")});
    CHECK(make(declared, as_created(declared)).text() == "the database is up to date: nothing to apply\n");
    auto have = as_created(table("t", {column("label", "text"), column("note", "text")}));
    CHECK(make(declared, have).text().rfind(
              "the database is in sync as far as plinth goes: nothing to apply; it differs in 1 way plinth leaves alone "
              "(see \"will not do\")\n",
              0) == 0);
    auto wider = table("t", {column("label", "text"), column("weight", "int", true)});
    FakeDatabase db;
    db.rows["public.t"] = 2;
    const auto blocked = make(wider, as_created(declared), db);
    CHECK(blocked.text().rfind("the migration is blocked: 1 BLOCKING item under \"will not do\" must be settled first\n", 0) == 0);
}

TEST_CASE("volatility is the server's answer, asked for new columns with a default on existing tables") {
    auto before = table("t", {column("label", "text")});
    auto after = table("t", {column("label", "text"), column("kind", "text", true, "'random'"),
                             column("seen", "timestamptz", true, "clock_timestamp()")});
    FakeDatabase db;
    db.rows["public.t"] = 5;
    db.volatile_expressions = {"clock_timestamp()"};
    const auto p = make(after, as_created(before), db);
    CHECK(statements(p) == Strings{"ALTER TABLE \"public\".\"t\" ADD COLUMN \"kind\" text DEFAULT ('random') NOT NULL"});
    REQUIRE(p.not_done.size() == 1);
    CHECK(p.not_done[0].reason ==
          "refused: a NOT NULL column whose default is volatile (clock_timestamp()) would rewrite every row of the table");
    CHECK(db.volatility_questions ==
          std::vector<std::vector<model::DeclaredDefault>>{{{"text", "'random'"}, {"timestamp with time zone", "clock_timestamp()"}}});
}

namespace {

// public.docs: an id and a vector(3) column "e", with an HNSW cosine index on it.
model::Table docs_with_hnsw() {
    auto t = table("docs", {column("e", "vector(3)")});
    model::Index idx{"docs_e_idx", false, "hnsw", {"e"}, std::nullopt};
    idx.opclasses = {"vector_cosine_ops"};
    idx.options = {{"ef_construction", "64"}, {"m", "16"}};
    t.indexes.push_back(idx);
    return t;
}

}  // namespace

TEST_CASE("a similarity index is created with its operator class and storage parameters") {
    const auto p = make({plugin("shop", {docs_with_hnsw()})}, database());
    REQUIRE(p.operations.size() == 3);
    CHECK(p.operations[2].sql ==
          "CREATE INDEX \"docs_e_idx\" ON \"public\".\"docs\" USING hnsw (\"e\" vector_cosine_ops) "
          "WITH (ef_construction = 64, m = 16)");
    CHECK(make(docs_with_hnsw(), as_created(docs_with_hnsw())).operations.empty());
}

TEST_CASE("hazard index_differs: a similarity index built otherwise is rebuilt as declared") {
    const auto t = docs_with_hnsw();
    auto changed = as_created(t);
    changed.indexes["docs_e_idx"].opclasses = {"vector_l2_ops"};
    changed.indexes["docs_e_idx"].default_opclasses = {false};
    auto p = make(t, changed);
    CHECK(summaries(p) == Strings{"drop index docs_e_idx on public.docs (built otherwise: the database has hnsw "
                                  "(vector_l2_ops) WITH (ef_construction=64, m=16))",
                                  "create index docs_e_idx on public.docs"});
    CHECK(statements(p) == Strings{"DROP INDEX \"public\".\"docs_e_idx\"",
                                   "CREATE INDEX \"docs_e_idx\" ON \"public\".\"docs\" USING hnsw (\"e\" vector_cosine_ops) "
                                   "WITH (ef_construction = 64, m = 16)"});
    CHECK(p.operations[0].hazards.at(0) ==
          plan::Hazard{HazardKind::index_differs, "the index differs from its declaration (method, operator class or "
                                                  "options) and is built again; queries on public.docs go without it until then"});
    CHECK(p.not_done.empty());

    // Changed options, on a table with rows: dropped and built again CONCURRENTLY after the commit.
    changed = as_created(t);
    changed.indexes["docs_e_idx"].options = {{"m", "8"}};
    FakeDatabase db;
    db.rows["public.docs"] = 10;
    p = make(t, changed, db);
    CHECK(statements(p) == Strings{"DROP INDEX CONCURRENTLY IF EXISTS \"public\".\"docs_e_idx\"",
                                   "CREATE INDEX CONCURRENTLY IF NOT EXISTS \"docs_e_idx\" ON \"public\".\"docs\" USING hnsw "
                                   "(\"e\" vector_cosine_ops) WITH (ef_construction = 64, m = 16)"});
    for (const auto& op : p.operations) CHECK(op.phase == plan::Phase::after_commit);
    CHECK(summaries(p).at(0) == "drop index docs_e_idx on public.docs (built otherwise: the database has hnsw "
                                "(vector_cosine_ops) WITH (m=8))");

    // Another method.
    changed = as_created(t);
    changed.indexes["docs_e_idx"].method = "ivfflat";
    CHECK(make(t, changed).operations.size() == 2);

    // A unique index built otherwise is left alone: dropping it would leave uniqueness unchecked.
    auto unique_label = table("labels", {column("label", "text")});
    unique_label.indexes.push_back({"labels_label_idx", true, "btree", {"label"}, std::nullopt});
    auto hashed = as_created(unique_label);
    hashed.indexes["labels_label_idx"].opclasses = {"text_pattern_ops"};
    hashed.indexes["labels_label_idx"].default_opclasses = {false};
    const auto left = make(unique_label, hashed);
    CHECK(left.operations.empty());
    REQUIRE(left.not_done.size() == 1);
    CHECK(left.not_done[0].object == "index \"labels_label_idx\"");

    // Dropped by hand: built again, CONCURRENTLY on a table with rows.
    changed = as_created(t);
    changed.indexes.erase("docs_e_idx");
    CHECK(summaries(make(t, changed, db)) == Strings{"create index docs_e_idx on public.docs (concurrently)"});
}

TEST_CASE("without pgvector similarity indexes are left out with a note, and sparsevec blocks") {
    auto actual = database();
    actual.vector_available = false;
    actual.vector_installed = false;
    auto p = make({plugin("shop", {docs_with_hnsw()})}, actual);
    CHECK(summaries(p) == Strings{"create table public.docs", "add primary key docs_pkey on public.docs"});
    CHECK(p.notes == Strings{"the server has no pgvector extension: public.docs.e is real[] with a check of 3 elements "
                             "instead of vector(3)",
                             "the server has no pgvector extension: index docs_e_idx on public.docs (hnsw) is left out; "
                             "searches on the fallback scan the table"});
    CHECK_FALSE(p.blocked());

    auto halves = table("halves", {column("h", "halfvec(8)"), column("b", "bit(8)")});
    p = make({plugin("shop", {halves})}, actual);
    CHECK(p.operations.at(0).sql.find("\"h\" real[]") != std::string::npos);
    CHECK(p.operations.at(0).sql.find("\"b\" bit(8)") != std::string::npos);  // PostgreSQL's own type

    p = make({plugin("shop", {table("sparse", {column("s", "sparsevec(100)")})})}, actual);
    REQUIRE(p.not_done.size() == 1);
    CHECK(p.not_done[0].blocking);
    CHECK(p.not_done[0].object == "column \"s\"");
    CHECK(p.not_done[0].reason == "sparsevec needs the pgvector extension, which this server does not offer, and has no "
                                  "fallback; install pgvector on the server");
}

TEST_CASE("a role that may not create pgvector blocks the plan, with the statement a superuser must run") {
    auto actual = database();
    actual.vector_installed = false;
    actual.vector_creatable = false;
    actual.role = "app";
    actual.database = "agents";
    const auto p = make({plugin("shop", {docs_with_hnsw(), table("plain")})}, actual);
    CHECK(p.blocked());
    REQUIRE(p.not_done.size() == 1);
    CHECK(p.not_done[0].plugin == "shop");
    CHECK(p.not_done[0].table == "public.docs");
    CHECK(p.not_done[0].reason == "needs the pgvector extension, which the server offers, but role \"app\" may not create "
                                  "it (only a superuser may: vector is not a trusted extension); a superuser must run "
                                  "this in database \"agents\", then plinth can migrate");
    CHECK(p.not_done[0].manual_sql == "CREATE EXTENSION vector");
    CHECK(p.text().find("- BLOCKING [shop] public.docs: needs the pgvector extension") != std::string::npos);
    CHECK(p.text().find("  by hand: CREATE EXTENSION vector;\n") != std::string::npos);
    // Installed already, or not needed: nothing to say.
    actual.vector_installed = true;
    CHECK_FALSE(make({plugin("shop", {docs_with_hnsw()})}, actual).blocked());
    actual.vector_installed = false;
    CHECK_FALSE(make({plugin("shop", {table("plain")})}, actual).blocked());
}

TEST_CASE("real[] columns made on the fallback are never converted; their similarity indexes wait") {
    const auto t = docs_with_hnsw();
    auto fallback = as_created(table("docs", {column("e", "real[]")}));
    FakeDatabase db;
    db.rows["public.docs"] = 3;
    const auto p = make(t, fallback, db);
    CHECK(p.operations.empty());
    REQUIRE(p.not_done.size() == 2);
    CHECK(p.not_done[0].object == "column \"e\"");
    CHECK(p.not_done[0].reason == "the database has real[] (the table was created on a server without pgvector), the "
                                  "plugin declares vector(3); plinth never converts a column by itself: the conversion "
                                  "rewrites the table and fails on a row of another length");
    CHECK(p.not_done[0].manual_sql == "ALTER TABLE \"public\".\"docs\" DROP CONSTRAINT IF EXISTS \"docs_e_dims_check\", "
                                      "ALTER COLUMN \"e\" TYPE vector(3) USING \"e\"::vector(3)");
    CHECK(p.not_done[1].object == "index \"docs_e_idx\"");
    CHECK(p.not_done[1].reason == "waits for column \"e\" to be converted to vector(3) (see above); hnsw cannot index real[]");
    CHECK(p.not_done[1].manual_sql == "CREATE INDEX CONCURRENTLY IF NOT EXISTS \"docs_e_idx\" ON \"public\".\"docs\" USING "
                                      "hnsw (\"e\" vector_cosine_ops) WITH (ef_construction = 64, m = 16)");
    CHECK_FALSE(p.blocked());
}

namespace {

model::Column backfilled(std::string name, std::string expression, std::optional<std::string> default_sql = std::nullopt) {
    auto c = column(std::move(name), "int", true, std::move(default_sql));
    c.backfill = std::move(expression);
    return c;
}

}  // namespace

TEST_CASE("a NOT NULL column with a backfill on a table with rows: added nullable, then filled and constrained after the commit") {
    auto t = table("t", {backfilled("priority", "coalesce(legacy, 0)", "0")});
    FakeDatabase db;
    db.rows["public.t"] = 5;
    const auto p = make(t, as_created(table("t")), db);
    CHECK(p.not_done.empty());
    CHECK(summaries(p) == Strings{"add column public.t.priority (NULL until backfilled)", "set default of public.t.priority",
                                  "backfill public.t.priority (in batches by primary key)",
                                  "set NOT NULL of public.t.priority (online, through check t_priority_not_null)"});
    CHECK(statements(p) ==
          Strings{"ALTER TABLE \"public\".\"t\" ADD COLUMN \"priority\" integer",
                  "ALTER TABLE \"public\".\"t\" ALTER COLUMN \"priority\" SET DEFAULT (0)",
                  "UPDATE \"public\".\"t\" SET \"priority\" = (coalesce(legacy, 0)) WHERE \"priority\" IS NULL",
                  "ALTER TABLE \"public\".\"t\" ALTER COLUMN \"priority\" SET NOT NULL"});
    REQUIRE(p.operations[2].backfill);
    CHECK(p.operations[2].phase == plan::Phase::after_commit);
    CHECK(p.operations[2].backfill->step == plan::Backfill::Step::fill);
    CHECK(p.operations[2].backfill->key == std::vector<std::pair<std::string, std::string>>{{"id", "uuid"}});
    CHECK(p.operations[3].backfill->step == plan::Backfill::Step::not_null);
    CHECK(p.operations[3].backfill->check_name == "t_priority_not_null");

    // Added by an earlier run and not NOT NULL yet: only the two steps after the commit, again.
    auto have = as_created(table("t"));
    have.columns.push_back({"priority", "integer", false, std::string("0")});
    CHECK(summaries(make(t, have, db)) ==
          Strings{"backfill public.t.priority (in batches by primary key)",
                  "set NOT NULL of public.t.priority (online, through check t_priority_not_null)"});
    // Done: nothing; a helper check an interrupted run left is dropped.
    have.columns.back().not_null = true;
    CHECK(make(t, have, db).operations.empty());
    have.constraints["t_priority_not_null"] = constraint("t_priority_not_null", 'c', {"priority"});
    CHECK(statements(make(t, have, db)) ==
          Strings{"ALTER TABLE \"public\".\"t\" DROP CONSTRAINT IF EXISTS \"t_priority_not_null\""});
}

TEST_CASE("a helper check whose name would pass 63 bytes gets a hashed one") {
    auto t = table(std::string(40, 'a'), {backfilled(std::string(30, 'b'), "1")});
    FakeDatabase db;
    db.rows["public." + std::string(40, 'a')] = 1;
    const auto p = make(t, as_created(table(std::string(40, 'a'))), db);
    REQUIRE(p.operations.size() == 3);
    const auto& name = p.operations[2].backfill->check_name;
    CHECK(name.rfind("plinth_not_null_", 0) == 0);
    CHECK(name.size() == 32);
}

TEST_CASE("a type change that rewrites the table: under \"will not do\" by default, planned with its size when allowed") {
    auto t = table("t", {column("n", "bigint")});
    t.columns.back().using_expression = "n::bigint * 10";
    auto have = as_created(table("t"));
    have.columns.push_back({"n", "integer", false, std::nullopt});
    FakeDatabase db;
    db.rows["public.t"] = 1000;
    auto probe = db.probe();
    probe.total_bytes = [](const std::string&) { return std::int64_t{5 * 1024 * 1024}; };
    const auto plugins = std::vector{plugin("shop", {t})};
    const auto refused = plan::make_plan(plugins, plinth::order::order(plugins), database({have}), probe);
    CHECK(refused.operations.empty());
    REQUIRE(refused.not_done.size() == 1);
    CHECK(refused.not_done[0].reason ==
          "type differs: the database has integer, the plugin declares bigint; the change could rewrite the table or "
          "lose data, so plinth leaves it");
    plan::PlanOptions allow;
    allow.allowed_hazards = {"table-rewrite"};
    const auto p = plan::make_plan(plugins, plinth::order::order(plugins), database({have}), probe, {}, allow);
    CHECK(p.not_done.empty());
    CHECK(summaries(p) ==
          Strings{"change type of public.t.n from integer to bigint (rewrites the table: 1000 rows, 5120 kB)"});
    CHECK(statements(p) == Strings{"ALTER TABLE \"public\".\"t\" ALTER COLUMN \"n\" TYPE bigint USING (n::bigint * 10)"});
    CHECK(p.operations[0].hazard_texts() ==
          Strings{"rewrites public.t (1000 rows, 5120 kB) holding ACCESS EXCLUSIVE until the commit: its readers and "
                  "writers wait; allowed by --allow-hazard table-rewrite",
                  "locks public.t (ACCESS EXCLUSIVE) until the migration commits: its readers and writers wait"});
    // Allowing a hazard changes the desired hash (the fast path must not hide it); no hazard, no change.
    CHECK(plan::desired_hash(plugins, allow) != plan::desired_hash(plugins));
    CHECK(plan::desired_hash(plugins, {}) == plan::desired_hash(plugins));
}

TEST_CASE("a column's hash takes in a backfill and a USING expression only when it declares them") {
    auto p = plugin("shop", {table("t", {column("n", "int", true)})});
    const auto plain = plan::schema_hash(p);
    CHECK(plain == "3b6ddcab8fd0d613");  // what plinth before ABI 1.4 computed for this plugin
    p.tables[0].columns.back().backfill = "1";
    CHECK(plan::schema_hash(p) != plain);
}

TEST_CASE("renames come first of the locking operations, and what names the old names matches the new ones") {
    // The database: customers(ref unique, indexed), orders(customer_ref -> customers.ref), with rows.
    auto customers = table("customers", {column("ref", "text", true)});
    customers.uniques.push_back({"customers_ref_key", {"ref"}});
    customers.indexes.push_back({"customers_ref_idx", false, "btree", {"ref"}, std::nullopt});
    auto orders = table("orders", {column("customer_ref", "text", true)});
    orders.foreign_keys.push_back({"orders_customer_ref_fkey", {"customer_ref"}, "public", "customers", {"ref"}});
    // Declared: customers is now accounts, ref is now code; the key, the index and the foreign key say so.
    auto accounts = table("accounts", {column("code", "text", true), column("note", "text")});
    accounts.renamed_from = "customers";
    accounts.columns[1].renamed_from = "ref";
    accounts.uniques.push_back({"accounts_code_key", {"code"}});
    accounts.indexes.push_back({"accounts_code_idx", false, "btree", {"code"}, std::nullopt});
    auto orders_now = table("orders", {column("customer_ref", "text", true)});
    orders_now.foreign_keys.push_back({"orders_customer_ref_fkey", {"customer_ref"}, "public", "accounts", {"code"}});
    FakeDatabase db;
    db.rows = {{"public.customers", 5}, {"public.orders", 2}};
    const auto p = make({plugin("shop", {accounts, orders_now})}, database({as_created(customers), as_created(orders)}), db);
    CHECK(summaries(p) == Strings{"rename table public.customers to public.accounts",
                                  "rename column public.accounts.ref to code", "add column public.accounts.note"});
    CHECK(statements(p)[1] == "ALTER TABLE \"public\".\"accounts\" RENAME COLUMN \"ref\" TO \"code\"");
    CHECK(p.operations[1].locks == std::vector<plan::TableLock>{{"public.customers", "ACCESS EXCLUSIVE"}});
    CHECK(p.operations[0].hazards.at(0).kind == HazardKind::renamed);
    CHECK(p.not_done.empty());
    // The renamed table's rows were asked under the name it has until the commit.
    for (const auto& asked : db.row_questions) CHECK(std::find(asked.begin(), asked.end(), "public.accounts") == asked.end());

    // Renamed already: nothing to do. Both names present: blocking, naming both.
    auto after = customers;  // as the renames left it: its constraint and index names kept
    after.name = "accounts";
    after.columns[1].name = "code";
    after.uniques[0].columns = {"code"};
    after.indexes[0].keys = {"code"};
    auto orders_after = orders;
    orders_after.foreign_keys[0].ref_table = "accounts";
    orders_after.foreign_keys[0].ref_columns = {"code"};
    CHECK(summaries(make({plugin("shop", {accounts, orders_now})}, database({as_created(after), as_created(orders_after)}))) ==
          Strings{"add column public.accounts.note"});
    const auto both = make({plugin("shop", {accounts, orders_now})},
                           database({as_created(customers), as_created(after), as_created(orders)}));
    REQUIRE_FALSE(both.not_done.empty());
    CHECK(both.blocked());
    CHECK(both.not_done[0].reason.rfind("declared as renamed from public.customers, but both public.customers and "
                                        "public.accounts exist", 0) == 0);
}
