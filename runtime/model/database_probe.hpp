// Questions the planner asks the database beyond the catalog: whether existing tables have rows,
// how many, and how the server itself would spell a declared default, check or index. Each is
// asked once for everything the plan needs. The planner sees only this interface; introspect/
// answers it from a connection, tests from fixed values.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace plinth::model {

// (canonical type, declared default expression)
using DeclaredDefault = std::pair<std::string, std::string>;

// A declared check or index, to be spelled by the server on a copy of its table's columns.
struct DeclaredDefinition {
    std::string table;  // "schema.table"
    char kind = 'c';    // 'c': sql is a check expression; 'i': sql is "USING method (keys) [WHERE predicate]"
    std::string sql;
    auto operator<=>(const DeclaredDefinition&) const = default;
};

// How an index reads in a DeclaredDefinition answer and in the catalog alike: its keys as
// pg_get_indexdef(oid, k, true) writes them, joined by ", ", then " WHERE " and the predicate.
std::string index_spelling(const std::vector<std::string>& keys, const std::optional<std::string>& predicate);

struct DatabaseProbe {
    // "schema.table" -> whether it has at least one row
    std::function<std::map<std::string, bool>(const std::vector<std::string>&)> have_rows;
    std::function<std::int64_t(const std::string&)> count;
    // pg_total_relation_size of "schema.table" (ABI 1.4's table rewrites show it); empty: not asked.
    std::function<std::int64_t(const std::string&)> total_bytes{};
    // Each default as pg_get_expr() would show it on a column of that type; a default the server
    // rejects maps to nullopt.
    std::function<std::map<DeclaredDefault, std::optional<std::string>>(const std::vector<DeclaredDefault>&)>
        server_defaults;
    // A check as pg_get_constraintdef() writes it ("CHECK ((a > 0))"), an index as index_spelling();
    // a definition the server rejects maps to nullopt.
    std::function<std::map<DeclaredDefinition, std::optional<std::string>>(const std::vector<DeclaredDefinition>&)>
        server_definitions;
    // Whether each default is volatile, i.e. whether ADD COLUMN with it would compute it for every
    // existing row (rewriting the table) instead of storing one value in the catalog. The server
    // decides (pg_attribute.atthasmissing on a scratch table), never a list of function names.
    std::function<std::map<DeclaredDefault, bool>(const std::vector<DeclaredDefault>&)> volatile_defaults;
};

}  // namespace plinth::model
