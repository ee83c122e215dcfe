// Stage "plan": desired schema (valid plugins, ordered) + actual schema -> ordered operations,
// each with its SQL and hazards, and what the plan will not do, with the SQL to do it by hand.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "model/actual_schema.hpp"
#include "model/database_probe.hpp"
#include "model/schema.hpp"
#include "order/order.hpp"

namespace plinth::plan {

enum class Phase {
    transaction,   // inside the one transaction of the run
    after_commit,  // work PostgreSQL forbids in a transaction, or that must not hold its locks
};

// Every kind of risk an operation can carry.
enum class HazardKind {
    catalog_only_type_change,         // a type changed in place: no rewrite, only the catalog
    rows_get_null,                    // a column with a volatile default added without it: existing rows get NULL
    primary_key_blocks_writes,        // a primary key added to a table with rows
    unique_blocks_writes,             // a unique constraint added to a table with rows; fails on duplicates
    added_not_valid,                  // a check or foreign key added NOT VALID to a table with rows
    check_validation_scan,            // a check the database holds NOT VALID, validated after the commit
    check_validation_may_fail,        // a check just added NOT VALID, validated after the commit
    foreign_key_validation_may_fail,  // a foreign key validated after the commit
    concurrent_index_build,           // a missing index built CONCURRENTLY after the commit
    invalid_index_dropped,            // an index an interrupted concurrent build left invalid, dropped to be rebuilt
    concurrent_index_rebuild,         // that index built again CONCURRENTLY after the commit
    index_differs,                    // an index built otherwise than declared (method, operator class, options), dropped to be rebuilt
    locks_existing_table,             // a table that existed before is locked until the commit: its writers wait
    not_null_relaxed,                 // NOT NULL dropped from a column the plugin no longer declares
    // ABI 1.4
    added_for_backfill,               // a NOT NULL column with a backfill, added nullable: filled after the commit
    backfill_batches,                 // existing rows filled in batches by primary key after the commit
    not_null_online,                  // NOT NULL set through a validated CHECK: no scan under a strong lock
    table_rewrite,                    // a type change that rewrites the table, allowed by the operator
    renamed,                          // a table or column renamed: an older version of its plugin loses the old name
};

struct Hazard {
    HazardKind kind;
    std::string text;  // for people: "builds a unique index while blocking writes to public.agents"
    bool operator==(const Hazard&) const = default;
};

// A table that existed before the migration, locked by an operation until the commit.
struct TableLock {
    std::string table;  // "schema.table"
    std::string mode;   // as the manual names it: "SHARE", "SHARE ROW EXCLUSIVE", "ACCESS EXCLUSIVE"
    bool operator==(const TableLock&) const = default;
};

// A column filled after the commit in batches by primary key ranges, then made NOT NULL online
// (ABI 1.4). apply runs it in steps of its own, journaled so that it resumes where it stopped.
struct Backfill {
    enum class Step : std::uint8_t {
        fill,      // UPDATE the rows still NULL, batch after batch in key order
        not_null,  // CHECK (col IS NOT NULL) NOT VALID, fill what was written meanwhile, VALIDATE, SET NOT NULL, drop the check
    };
    Step step = Step::fill;
    std::string schema;
    std::string table;
    std::string column;
    std::string expression;  // as declared; always used inside its own parentheses
    std::vector<std::pair<std::string, std::string>> key;  // primary key columns and their canonical types
    std::string check_name;  // the helper check of the not_null step
    bool operator==(const Backfill&) const = default;
};

// What an operation is, where plinth must tell without reading its summary, which is for people.
enum class OperationKind {
    other,
    create_extension,  // pgvector's script, about 190 objects
    create_table,
    add_key,  // a primary key or a unique constraint, by a statement of its own
};

struct Operation {
    std::string plugin;   // who asked for it
    std::string table;    // "schema.table", empty for schema and extension operations
    std::string summary;  // "create table public.agents"
    std::string sql;      // one statement, without a trailing semicolon
    std::vector<Hazard> hazards;
    Phase phase = Phase::transaction;
    // In the transaction: the existing tables it locks against their writers. Such operations run
    // last, just before the commit, so those writers wait as briefly as possible.
    std::vector<TableLock> locks;
    // After the commit: a backfill step, run in batches by apply instead of `sql` (which shows the
    // same work as one statement, as a person would run it).
    std::optional<Backfill> backfill{};
    OperationKind kind = OperationKind::other;

    std::vector<std::string> hazard_texts() const;
};

struct NotDone {
    std::string plugin;
    std::string table;
    std::string object;      // `column "name"`, `index "x_idx"`, empty for a whole table
    std::string reason;
    std::string manual_sql;  // what a person could run by hand, if they decide to
    bool blocking = false;   // migrate must refuse to run (e.g. NOT NULL column without default on rows)
};

// How a NotDone is written for people. Every style says "table object: reason"; they differ in
// what surrounds it.
enum class NotDoneStyle {
    plan_entry,  // an entry of Plan::text: "- BLOCKING [plugin] table object: reason\n  by hand: sql;\n"
    report,      // in a refusal: `plugin "p", table T object: reason`, then "\n    by hand: sql"
    warning,     // one line: `plugin "p", table T object: reason (by hand: sql)`
    drift,       // under its plugin's name: "table object: reason"
};
std::string render_not_done(const NotDone& item, NotDoneStyle style);

// A plugin's upgrade step the migration will run (ABI 1.4): its version differs from the journal's.
struct UpgradeDue {
    std::string plugin;
    std::string from_version;
    std::string to_version;
};

struct Plan {
    std::vector<Operation> operations;
    std::vector<NotDone> not_done;
    std::vector<std::string> notes;  // decisions worth knowing, e.g. the vector fallback
    // Filled by apply::current_plan from the journal (the planner itself does not read it); they run
    // in the transaction, after the statements.
    std::vector<UpgradeDue> upgrades;

    // Work is pending: statements to run, or upgrade steps.
    bool has_operations() const { return !operations.empty() || !upgrades.empty(); }
    bool blocked() const;
    // The whole plan as text; the same input gives the same bytes.
    std::string text() const;
    // The plan as a script a person can review and run with `psql -1 -f`: every statement in order,
    // the work plinth does after its commit made plain (one transaction cannot build an index
    // CONCURRENTLY), what plinth will not do and the notes as comments. Same input, same bytes.
    std::string sql_script() const;
};

// "the database is in sync as far as plinth goes: nothing to apply; it differs in 2 ways plinth
// leaves alone (see "will not do")": the headline when there is nothing to apply but drift.
std::string differences_headline(std::size_t count);

// What the operator allows beyond plinth's own rules (migrate --allow-hazard, [plinth] allow_hazard).
struct PlanOptions {
    // "table-rewrite": a type change that rewrites the table is applied instead of left for a person.
    std::set<std::string> allowed_hazards;
    bool allows(const std::string& hazard) const { return allowed_hazards.count(hazard) > 0; }
};

// The hazards --allow-hazard accepts.
inline const std::vector<std::string>& allowable_hazards() {
    static const std::vector<std::string> names{"table-rewrite"};
    return names;
}

// `plugins` are the valid plugins and `ordering` their order (from order::order). Tables of plugins
// skipped this run ("schema.table" -> plugin name) are left alone and reported as such.
Plan make_plan(const std::vector<model::Plugin>& plugins, const order::Ordering& ordering,
               const model::ActualSchema& actual, const model::DatabaseProbe& probe,
               const std::map<std::string, std::string>& skipped_tables = {}, const PlanOptions& options = {});

// "public", "crm": the schemas the plugins own, sorted, without duplicates.
std::vector<std::string> owned_schemas(const std::vector<model::Plugin>& plugins);

// A hash of everything a plugin declares that the migration depends on (hex, 16 digits).
std::string schema_hash(const model::Plugin& plugin);
// A hash of the whole desired state: every plugin's schema hash and the planner's own version, and
// the hazards the operator allows (when any: allowing one changes what is planned).
std::string desired_hash(const std::vector<model::Plugin>& plugins, const PlanOptions& options = {});

}  // namespace plinth::plan
