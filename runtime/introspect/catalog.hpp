// Stage "introspect": the live catalog of the schemas plugins own -> the actual schema, with a
// fixed number of catalog queries whatever the number of tables.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "model/actual_schema.hpp"
#include "pg/connection.hpp"

namespace plinth::introspect {

// Reads the schemas named (4 queries, whatever their size), leaving out the relations `excluded`
// names ("schema.name": plinth's journal, when it shares a schema with plugins).
model::ActualSchema read_catalog(pg::Connection& connection, const std::vector<std::string>& schemas,
                                 const std::vector<std::string>& excluded = {});

// Which of the (schema, table) pairs have no table in the database, as "schema.table", in the
// order given (one query).
std::vector<std::string> missing_tables(pg::Connection& connection,
                                        const std::vector<std::pair<std::string, std::string>>& tables);

// The SQL of one query that computes a fingerprint of everything plinth manages in `schemas`
// ($1 is the schema names as a text array). A hand-made change to a table, column, constraint or
// index there changes it. It is NULL while an index there is invalid or a constraint is NOT VALID,
// so such a state never takes the fast path.
const char* fingerprint_query();

// The pg_locks spellings of the lock modes that conflict with `mode` ("ACCESS SHARE", "SHARE",
// "SHARE ROW EXCLUSIVE" or "ACCESS EXCLUSIVE", as the manual names them).
std::vector<std::string> conflicting_modes(const std::string& mode);

// Who else holds a lock in one of `modes` (pg_locks spelling) on one of `tables` ("schema.table"),
// or, when `tables` is empty, on any relation of `schemas`: one line per holder, naming the table,
// the pid, the mode, its application, state, query start and the first 80 characters of its query.
// One query; it takes no table lock itself, so it answers while those tables are locked.
std::vector<std::string> lock_holders(pg::Connection& connection, const std::vector<std::string>& tables,
                                      const std::vector<std::string>& schemas, const std::vector<std::string>& modes);

// A PostgreSQL text array literal for $1: {"public","crm"}.
std::string text_array(const std::vector<std::string>& items);
// Parses PostgreSQL's text output of a one-dimensional text array.
std::vector<std::string> parse_text_array(std::string_view text);

}  // namespace plinth::introspect
