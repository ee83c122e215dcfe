// Small text helpers for building SQL and messages, shared by the stages that need them.
#pragma once

#include <chrono>
#include <cstddef>
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

// The longest message of a plugin's log record, in bytes of its text as the plugin gave it; the rest
// is cut, and the record says how many bytes were.
constexpr std::size_t kMaxPluginMessage = 4096;

// Plugin text made fit for one line of a text log: a backslash is doubled, control characters
// (newline, ANSI ESC, DEL, the C1 controls) and bytes that are not valid UTF-8 are escaped (\n, \t,
// \r, \x1b, \xff, \u009b), and past `limit` bytes the text is cut with " ... (N bytes cut)".
std::string escape_text(std::string_view text, std::size_t limit = kMaxPluginMessage);

}  // namespace plinth::model
