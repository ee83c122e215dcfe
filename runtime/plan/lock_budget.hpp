#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "model/lock_table.hpp"
#include "model/schema.hpp"
#include "plan/plan.hpp"

namespace plinth::plan {

// How many lock-table entries the plan's transaction holds at its end, at most: everything it
// creates or alters stays locked until the commit (tables, their row types, TOAST tables, indexes,
// constraints, sequences, an extension's objects), one entry per object.
std::int64_t lock_entries_needed(const Plan& plan, const std::vector<model::Plugin>& plugins);

// How many the server's judgement of declared SQL (introspect::judge_declared_sql) holds at once at
// most, on its own connection beside the migration's: one chunk of `tables_per_chunk` probe tables,
// each locked as a new table with its indexes, bounded by the largest tables of any plugin.
std::int64_t judgement_lock_entries(const std::vector<model::Plugin>& plugins, std::size_t tables_per_chunk);

// Why the plan cannot run on this server in one transaction, naming the setting to raise and the
// value that suffices; nullopt when it fits.
std::optional<std::string> lock_budget_refusal(std::int64_t needed, const model::LockTable& server);

}  // namespace plinth::plan
