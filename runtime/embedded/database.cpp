#include "embedded/database.hpp"

#include <cmath>
#include <cstdlib>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "pg/conninfo.hpp"

namespace plinth {

void add_database_options(CLI::App& cmd, DatabaseOptions& opts) {
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

DatabaseSession::DatabaseSession(std::string conninfo, std::chrono::milliseconds timeout,
                                 spdlog::logger& log, std::optional<embedded::ClusterLease> lease)
    : conninfo_(std::move(conninfo)), timeout_(timeout), log_(&log), lease_(std::move(lease)) {}

DatabaseSession DatabaseSession::open(const DatabaseOptions& options, spdlog::logger& log) {
    std::string url = options.url;
    std::string source = "--database-url";
    for (const char* variable : {"PLINTH_DATABASE_URL", "DATABASE_URL"}) {
        const char* value = std::getenv(variable);
        if (!url.empty() || !value || !*value) continue;
        url = value;
        source = std::string("$") + variable;
    }
    if (!url.empty()) {
        log.debug("using the database {} (from {})", pg::redact_conninfo(url), source);
        return DatabaseSession(std::move(url), options.connect_timeout, log, std::nullopt);
    }
    embedded::EmbeddedCluster cluster(options.data_dir, log);
    auto lease = cluster.use();
    log.debug("using the embedded PostgreSQL server in {}", cluster.data_dir().string());
    return DatabaseSession(cluster.conninfo(), options.connect_timeout, log, std::move(lease));
}

pg::Connection DatabaseSession::connect() const {
    return pg::connect_with_retry(conninfo_, timeout_, *log_);
}

}  // namespace plinth
