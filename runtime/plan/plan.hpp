// Stage "plan": desired schema (valid plugins, ordered) + actual schema -> ordered operations,
// each with its SQL and hazards, and what the plan will not do, with the SQL to do it by hand.
#pragma once

#include <map>
#include <string>
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

struct Operation {
    std::string plugin;   // who asked for it
    std::string table;    // "schema.table", empty for schema and extension operations
    std::string summary;  // "create table public.agents"
    std::string sql;      // one statement, without a trailing semicolon
    std::vector<std::string> hazards;
    Phase phase = Phase::transaction;
};

struct NotDone {
    std::string plugin;
    std::string table;
    std::string object;      // `column "name"`, `index "x_idx"`, empty for a whole table
    std::string reason;
    std::string manual_sql;  // what a person could run by hand, if they decide to
    bool blocking = false;   // migrate must refuse to run (e.g. NOT NULL column without default on rows)
};

struct Plan {
    std::vector<Operation> operations;
    std::vector<NotDone> not_done;
    std::vector<std::string> notes;  // decisions worth knowing, e.g. the vector fallback

    bool has_operations() const { return !operations.empty(); }
    bool blocked() const;
    // The whole plan as text; the same input gives the same bytes.
    std::string text() const;
};

// `plugins` are the valid plugins and `ordering` their order (from order::order). Tables of plugins
// skipped this run ("schema.table" -> plugin name) are left alone and reported as such.
Plan make_plan(const std::vector<model::Plugin>& plugins, const order::Ordering& ordering,
               const model::ActualSchema& actual, const model::DatabaseProbe& probe,
               const std::map<std::string, std::string>& skipped_tables = {});

// "public", "crm": the schemas the plugins own, sorted, without duplicates.
std::vector<std::string> owned_schemas(const std::vector<model::Plugin>& plugins);

// A hash of everything a plugin declares that the migration depends on (hex, 16 digits).
std::string schema_hash(const model::Plugin& plugin);
// A hash of the whole desired state: every plugin's schema hash and the planner's own version.
std::string desired_hash(const std::vector<model::Plugin>& plugins);

}  // namespace plinth::plan
