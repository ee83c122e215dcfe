// Small text helpers for building SQL and messages, shared by the stages that need them.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace plinth::model {

std::string join(const std::vector<std::string>& items, std::string_view separator);
// Without leading and trailing white space.
std::string trim(std::string_view text);
// "10 s" for whole seconds, else "1500 ms".
std::string format_duration(std::chrono::milliseconds duration);

// A double-quoted SQL identifier: agents -> "agents", a"b -> "a""b".
std::string quote_ident(std::string_view name);
// "schema"."name"
std::string qualified(std::string_view schema, std::string_view name);
// "schema"."table" from "schema.table" (a validated name, so the first dot separates).
std::string qualified(std::string_view dotted);
// A standard SQL string literal: it's -> 'it''s'.
std::string quote_literal(std::string_view text);

}  // namespace plinth::model
