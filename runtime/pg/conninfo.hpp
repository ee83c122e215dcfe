// Keeping passwords out of logs and error messages. Every log line or error that names a
// connection target goes through redact_conninfo.
#pragma once

#include <string>
#include <string_view>

namespace plinth::pg {

// Masks the password and keeps the rest readable:
//   postgresql://user:secret@host/db?sslmode=require -> postgresql://user:***@host/db?sslmode=require
//   postgresql://host/db?password=secret             -> postgresql://host/db?password=***
//   host=h password='s e c' dbname=d                 -> host=h password=*** dbname=d
// A key=value string libpq could not parse is masked from the first unparsable point on, and a URI
// password with an unencoded '/' (not a password to libpq) is masked all the same.
std::string redact_conninfo(std::string_view conninfo);

// Replaces every occurrence in text of a password that conninfo carries (raw or decoded) by "***".
// libpq echoes malformed conninfo fragments in its messages; this keeps them from leaking secrets.
std::string scrub_password(std::string text, std::string_view conninfo);

}  // namespace plinth::pg
