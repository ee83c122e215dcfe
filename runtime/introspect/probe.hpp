// Questions the planner asks the database beyond the catalog: whether existing tables have rows,
// how many, and how the server itself would store a declared default. Each is asked once for
// everything the plan needs.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "pg/connection.hpp"

namespace plinth::introspect {

// (canonical type, declared default expression)
using DeclaredDefault = std::pair<std::string, std::string>;

struct DatabaseProbe {
    // "schema.table" -> whether it has at least one row
    std::function<std::map<std::string, bool>(const std::vector<std::string>&)> have_rows;
    std::function<std::int64_t(const std::string&)> count;
    // Each default as pg_get_expr() would show it on a column of that type; a default the server
    // rejects maps to nullopt.
    std::function<std::map<DeclaredDefault, std::optional<std::string>>(const std::vector<DeclaredDefault>&)>
        server_defaults;
};

// A probe backed by `connection`, which must outlive it. server_defaults creates a temporary table
// inside a savepoint (or a transaction of its own) and rolls it back: it changes nothing.
DatabaseProbe database_probe(pg::Connection& connection);

}  // namespace plinth::introspect
