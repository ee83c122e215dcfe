// Rules for the names and SQL fragments a plugin declares, checked before anything reaches SQL.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace plinth::validate {

// PostgreSQL truncates identifiers to 63 bytes (NAMEDATALEN - 1); plinth refuses longer ones so
// two names can never collide after truncation.
constexpr std::size_t kMaxIdentifierBytes = 63;
// A column type's text, checked before any pattern is matched against it.
constexpr std::size_t kMaxTypeBytes = 256;

// Each returns nullopt when valid, else why not (without naming the thing; the caller does).
std::optional<std::string> check_identifier(std::string_view name);   // [a-z_][a-z0-9_]*, <= 63 bytes
std::optional<std::string> check_plugin_name(std::string_view name);  // [a-z][a-z0-9_-]*, <= 63 bytes
std::optional<std::string> check_schema_name(std::string_view name);  // identifier, not pg_*, not reserved
std::optional<std::string> check_type(std::string_view type);         // a type name as written in DDL
// A column name PostgreSQL keeps for itself (xmin, ctid, ...): a table cannot have such a column.
bool is_system_column(std::string_view name);
// A plugin version: UTF-8 without control characters (it is written to the journal as text).
std::optional<std::string> check_version(std::string_view version);
// An SQL expression fragment: non-empty, no statement separator or comment outside quotes, its
// parentheses balanced. Only a cheap first look: the server's parser judges every fragment in the
// plan's probe (introspect/judge.hpp).
std::optional<std::string> check_expression(std::string_view sql);

}  // namespace plinth::validate
