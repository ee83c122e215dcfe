// Row questions the planner asks about existing tables ("does it have rows? how many?"), answered
// by the database with one query for all tables at once.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "pg/connection.hpp"

namespace plinth::introspect {

struct RowProbe {
    // "schema.table" -> whether it has at least one row
    std::function<std::map<std::string, bool>(const std::vector<std::string>&)> have_rows;
    std::function<std::int64_t(const std::string&)> count;
};

// A probe backed by `connection`, which must outlive it.
RowProbe row_probe(pg::Connection& connection);

}  // namespace plinth::introspect
