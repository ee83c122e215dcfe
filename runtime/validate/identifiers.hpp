// Rules for the names and SQL fragments a plugin declares, checked before anything reaches SQL.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace plinth::validate {

// PostgreSQL truncates identifiers to 63 bytes (NAMEDATALEN - 1); plinth refuses longer ones so
// two names can never collide after truncation.
constexpr std::size_t kMaxIdentifierBytes = 63;

// Each returns nullopt when valid, else why not (without naming the thing; the caller does).
std::optional<std::string> check_identifier(std::string_view name);   // [a-z_][a-z0-9_]*, <= 63 bytes
std::optional<std::string> check_plugin_name(std::string_view name);  // [a-z][a-z0-9_-]*, <= 63 bytes
std::optional<std::string> check_schema_name(std::string_view name);  // identifier, not pg_*, not reserved
std::optional<std::string> check_type(std::string_view type);         // a type name as written in DDL
// An SQL expression fragment: non-empty, no statement separator or comment outside quotes.
std::optional<std::string> check_expression(std::string_view sql);

}  // namespace plinth::validate
