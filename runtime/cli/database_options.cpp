#include "cli/database_options.hpp"

#include <cmath>

#include <CLI/CLI.hpp>

namespace plinth::cli {

void add_database_options(CLI::App& cmd, database::DatabaseOptions& opts) {
    cmd.add_option("--database-url", opts.url,
                   "PostgreSQL to use, as a libpq URI or key=value string (default: "
                   "$PLINTH_DATABASE_URL, then $DATABASE_URL, then the embedded server in --data-dir)")
        ->type_name("URL");
    cmd.add_option_function<double>(
           "--connect-timeout",
           [&opts](double seconds) {
               opts.connect_timeout = std::chrono::milliseconds(std::llround(seconds * 1000));
           },
           "Seconds to wait for the database to accept connections")
        ->type_name("SECONDS")
        ->check(CLI::NonNegativeNumber)
        ->default_str(std::to_string(opts.connect_timeout.count() / 1000));
    cmd.add_option("--data-dir", opts.data_dir,
                   "Folder of the embedded PostgreSQL server, used when no database URL is given")
        ->type_name("DIR")
        ->default_str(opts.data_dir.string());
}

}  // namespace plinth::cli
