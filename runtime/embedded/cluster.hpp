// The embedded default PostgreSQL: a private cluster in a data folder, reachable only through a Unix
// socket in that folder (no TCP port), created and started on first use and kept across restarts.
//
// <data_dir>/pgdata          PGDATA, made by initdb (superuser "plinth", database "plinth")
// <data_dir>/.s.PGSQL.5432   the server's socket
// <data_dir>/postgres.log    the server log
// <data_dir>/lock            exclusive flock held around every state change (initdb, start, stop)
// <data_dir>/users.lock      shared flock held by every process using the server (ClusterLease)
// <data_dir>/ephemeral       marker: started on demand, stopped again when its last user ends
//
// Local connections are trusted, so the folder is mode 0700: only its owner (and root) can reach
// the socket. When plinth runs as root the server runs as the `postgres` system user, which then
// owns the folder.
//
// One EmbeddedCluster object is not meant for concurrent use from several threads; separate objects
// (in any number of threads or processes) coordinate through the locks.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "embedded/file_lock.hpp"
#include "embedded/process.hpp"

namespace spdlog {
class logger;
}

namespace plinth::embedded {

struct ServerBinaries {
    std::filesystem::path bindir;  // holds initdb, pg_ctl and postgres
    std::string major_version;     // spelled as in PG_VERSION: "15" (or "9.6" for old releases)
};

// `pg_config --bindir` first, then the Debian layout /usr/lib/postgresql/<highest>/bin. Throws
// std::runtime_error naming what was tried and the package to install.
ServerBinaries find_server_binaries();

struct ClusterOptions {
    // For throwaway clusters (tests): no fsync at all. Much faster; a machine crash may corrupt it.
    bool throwaway = false;
    // The folder of initdb, pg_ctl and postgres; empty: find_server_binaries(). Tests use it to run
    // a server from a copied tree that offers other extensions.
    std::filesystem::path bindir{};
};

enum class ServerState {
    not_initialized,  // no cluster in the folder yet
    stopped,
    running,          // answering on our socket
    stale_pid_file,   // postmaster.pid names a process that is gone, a zombie, or not PostgreSQL
    foreign_server,   // postmaster.pid names a live PostgreSQL of another data folder
    unresponsive,     // postmaster.pid names a live PostgreSQL in this data folder (or one that
                      // cannot be inspected) that is not answering: still starting, or dying
};

struct ClusterStatus {
    ServerState state = ServerState::not_initialized;
    std::optional<long> pid;  // from postmaster.pid
};

class ClusterLease;

class EmbeddedCluster {
public:
    static constexpr int kPort = 5432;  // only names the socket file; there is no TCP listener
    static constexpr std::string_view kSuperuser = "plinth";
    static constexpr std::string_view kDatabase = "plinth";

    // Checks the path (absolute form, Unix socket length limit, characters pg_ctl cannot pass) and,
    // as root, that the `postgres` user exists. Creates nothing yet.
    EmbeddedCluster(const std::filesystem::path& data_dir, spdlog::logger& log,
                    ClusterOptions options = {});

    const std::filesystem::path& data_dir() const noexcept { return dir_; }
    std::filesystem::path pgdata() const { return dir_ / "pgdata"; }
    std::filesystem::path log_file() const { return dir_ / "postgres.log"; }
    // postgresql:///<dbname>?host=<data_dir>&port=5432&user=plinth, percent-encoded.
    std::string conninfo(std::string_view dbname = kDatabase) const;
    // The user the server runs as when it is not the current one (running as root), else null.
    const RunAs* server_user() const noexcept { return server_user_ ? &*server_user_ : nullptr; }
    const ServerBinaries& binaries() const;

    // Read-only look at postmaster.pid and the socket; takes no lock.
    ClusterStatus status() const;
    // `plinth db start`: creates the cluster if needed, starts the server unless it runs, and
    // clears the ephemeral marker so it keeps running. Returns whether this call started it.
    bool start();
    // `plinth db stop`. Returns false when it was not running.
    bool stop();
    // For commands that use the database; see ClusterLease.
    ClusterLease use();

private:
    friend class ClusterLease;

    FileLock lock_state() const;
    void prepare_data_dir() const;
    void initdb(const FileLock& state_lock) const;
    void remove_unfinished_initdb(const std::filesystem::path& scratch) const;
    void check_cluster() const;
    // The ensure/stop steps below require lock_state() to be held. on_demand: mark a server this
    // call starts as ephemeral.
    bool ensure_running_locked(const FileLock& state_lock, bool on_demand) const;
    bool stop_locked() const;
    // status(), after waiting (bounded) for an unresponsive server to answer or to be gone.
    ClusterStatus settled_status() const;
    std::runtime_error unresponsive(long pid) const;
    void remove_stale_pid_file(long pid) const;
    void start_server() const;
    void ensure_database() const;
    uid_t server_uid() const;
    std::runtime_error owned_by_other(const std::filesystem::path& path, uid_t owner) const;

    std::filesystem::path dir_;
    spdlog::logger* log_;
    ClusterOptions options_;
    std::optional<RunAs> server_user_;
    mutable std::optional<ServerBinaries> binaries_;
};

// Keeps the embedded server available while it exists (a shared flock on users.lock). When the
// server was not running at acquisition it was started on demand and marked ephemeral; when the last
// lease of any process ends, that server is stopped again: on destruction or release(), and on
// SIGINT/SIGTERM/SIGHUP through signals::CleanupOnSignal (see signals/stop_signals.hpp for when that
// applies).
class ClusterLease {
public:
    ClusterLease(ClusterLease&&) noexcept;
    ClusterLease& operator=(ClusterLease&&) noexcept;
    ~ClusterLease();

    // Idempotent; throws when stopping the server fails (the destructor logs that instead).
    void release();

private:
    friend class EmbeddedCluster;
    struct State;
    ClusterLease(const EmbeddedCluster& cluster, FileLock users);

    std::unique_ptr<State> state_;
};

}  // namespace plinth::embedded
