// Internal to plan/: the wording of the plan's hazards, kept in render.cpp beside the rest of the
// plan's text.
#pragma once

#include <string>

#include "plan/plan.hpp"

namespace plinth::plan {

// A hazard of `kind` for an operation on `table` ("schema.table"); `lock_mode` only for
// locks_existing_table, `size` ("1000 rows, 48 MB") only for table_rewrite.
Hazard hazard(HazardKind kind, const std::string& table, const std::string& lock_mode = {},
              const std::string& size = {});

}  // namespace plinth::plan
