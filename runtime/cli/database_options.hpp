// The database options every database command shares: --database-url, --connect-timeout, --data-dir.
#pragma once

#include "database/session.hpp"

namespace CLI {
class App;
}

namespace plinth::cli {

// Adds --database-url URL, --connect-timeout SECONDS and --data-dir DIR to a (sub)command; the
// defaults shown are opts' current values.
void add_database_options(CLI::App& cmd, database::DatabaseOptions& opts);

}  // namespace plinth::cli
