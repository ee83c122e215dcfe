// Internal to plan/: renames a plugin asks for (ABI 1.4 renamed_from), planned before the rest.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "model/actual_schema.hpp"
#include "model/schema.hpp"
#include "plan/plan.hpp"

namespace plinth::plan {

struct Renames {
    // ALTER TABLE ... RENAME, tables first, then columns; each locks its table until the commit.
    std::vector<Operation> operations;
    // Old and new name both present: blocking, naming both.
    std::vector<NotDone> not_done;
    // "schema.new" -> "schema.old" for each table renamed: the database answers questions about
    // the table (rows, spellings) only under the name it has before the commit.
    std::map<std::string, std::string> real_names;
};

// Plans each rename whose old name the database has and whose new name it does not, and changes
// `actual` to what it will be once they ran: the rest of the planner then compares the
// declarations with it as if the renames had been made, so it neither creates the new name nor
// reports the old one, and foreign keys and indexes that name a renamed table or column match.
Renames plan_renames(const std::vector<model::Plugin>& plugins, model::ActualSchema& actual);

}  // namespace plinth::plan
