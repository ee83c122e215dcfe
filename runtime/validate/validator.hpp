// Stage "validate": loaded plugins -> the set of valid plugins, plus every problem found.
#pragma once

#include <string>
#include <vector>

#include "model/schema.hpp"

namespace plinth::validate {

// One thing wrong with what a plugin declares, with where it is.
struct Problem {
    std::string file;
    std::string plugin;
    std::string table;    // empty when not about a table
    std::string item;     // e.g. `column "name"`, `foreign key "x_fkey"`; empty when about the table
    std::string message;
    std::string location;  // where the item was declared, "notes.cpp:56"; empty when the plugin did not say
    // `core.so: plugin "core": table "agents": column "name": type is empty`, then
    // ` (declared at core.cpp:12)` when the location is known
    std::string text() const;
};

// A plugin left out of the run, and why (its own problems, or a plugin it needs was left out).
struct Skip {
    std::string file;
    std::string plugin;
    std::string reason;
    std::vector<std::string> tables;  // "schema.table" it declares, so they are not taken for strays
    std::string text() const;
};

struct ValidationResult {
    // Valid plugins sorted by name, names and defaults filled in (constraint names, referenced
    // columns, NOT NULL on primary key columns).
    std::vector<model::Plugin> plugins;
    std::vector<Problem> problems;  // every problem found, in plugin order
    std::vector<Skip> skipped;      // plugins left out, each with one clear reason
};

// Checks every plugin and the set as a whole; never stops at the first problem. A plugin with a
// problem is skipped together with every plugin that requires it, directly or not.
ValidationResult validate(std::vector<model::Plugin> plugins);

}  // namespace plinth::validate
