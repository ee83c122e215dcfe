// Choosing the database a command works on: the URL given, else $PLINTH_DATABASE_URL, else
// $DATABASE_URL, else the embedded server in the data folder (started for the session if needed).
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

#include "embedded/cluster.hpp"
#include "pg/connection.hpp"

namespace plinth::database {

struct DatabaseOptions {
    std::string url;  // libpq conninfo (URI or key=value); empty: see the resolution order above
    std::chrono::milliseconds connect_timeout{30000};
    std::filesystem::path data_dir{".plinth"};
    // The schema of plinth's journal and fast-path state (--journal-schema; apply::Journal).
    std::string journal_schema{"plinth"};
};

class DatabaseSession {
public:
    // Resolves the target. For the embedded default this makes sure the server runs and holds it
    // for the session's lifetime (embedded::ClusterLease), including when SIGINT/SIGTERM/SIGHUP end
    // the process while those signals are left at their default. `log` must outlive the session.
    static DatabaseSession open(const DatabaseOptions& options, spdlog::logger& log);

    DatabaseSession(DatabaseSession&&) noexcept = default;
    DatabaseSession& operator=(DatabaseSession&&) noexcept = default;
    // Releases the embedded server: stops it if this session's process started it on demand and
    // no other plinth process uses it.
    ~DatabaseSession() = default;

    // Usable to open further connections (e.g. a pool); may contain a password: log it only
    // through pg::redact_conninfo.
    const std::string& conninfo() const noexcept { return conninfo_; }
    // pg::connect_with_retry with the session's connect timeout.
    pg::Connection connect() const;
    bool embedded() const noexcept { return lease_.has_value(); }

private:
    DatabaseSession(std::string conninfo, std::chrono::milliseconds timeout, spdlog::logger& log,
                    std::optional<embedded::ClusterLease> lease);

    std::string conninfo_;
    std::chrono::milliseconds timeout_;
    spdlog::logger* log_;
    std::optional<embedded::ClusterLease> lease_;
};

}  // namespace plinth::database
