#include "database/session.hpp"

#include <cstdlib>

#include <spdlog/spdlog.h>

#include "pg/conninfo.hpp"

namespace plinth::database {

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

}  // namespace plinth::database
