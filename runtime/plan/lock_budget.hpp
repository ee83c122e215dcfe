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

// Why the plan cannot run on this server in one transaction, naming the setting to raise and the
// value that suffices; nullopt when it fits.
std::optional<std::string> lock_budget_refusal(std::int64_t needed, const model::LockTable& server);

}  // namespace plinth::plan
