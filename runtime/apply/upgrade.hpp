// Upgrade steps (ABI 1.4): a plugin's own data changes when its version changes, run inside the
// migration's transaction after the DDL and before the commit. The plugin's database calls run on
// the migration's connection; a runner decides where the plugin's code runs.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <spdlog/common.h>

#include "model/schema.hpp"
#include "pg/connection.hpp"

namespace spdlog {
class logger;
}

namespace plinth::apply {

// One plugin's upgrade step, due because the journal records another version for it.
struct UpgradeStep {
    const model::Plugin* plugin = nullptr;
    std::string previous_version;
};

// A failed upgrade step: the migration rolls back. The message names the plugin, its file, the
// phase "upgrade" and what went wrong (the plugin's error, a failed statement, a signal or exit
// status of the process it ran in, a time bound passed).
class UpgradeError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// A plugin's configuration value for a key, or nullopt: what config_get answers during the step.
using ConfigLookup = std::function<std::optional<std::string>(const std::string& plugin, const std::string& key)>;

// The rows of one statement as they travel to the plugin: in the process itself, or over the relay.
struct Rows {
    std::vector<std::string> names;
    std::vector<std::optional<std::string>> values;  // row after row
    std::uint64_t affected = 0;
};

// A database call's failure as the plugin sees it (plinth_db_error).
struct CallFailure {
    std::string sqlstate, message, detail, hint;
};

// What a step's plinth_host calls: the session itself in process, the relay's client in a child.
// Each database call returns its failure instead of throwing.
class UpgradeBackend {
public:
    virtual ~UpgradeBackend() = default;
    // tx 0: in the migration's transaction itself; else a savepoint from begin.
    virtual std::optional<CallFailure> query(std::uint64_t tx, const std::string& sql,
                                             const std::vector<std::optional<std::string>>& params, Rows& rows) = 0;
    virtual std::optional<CallFailure> begin(const std::optional<std::string>& isolation_level, std::uint64_t& tx) = 0;
    virtual std::optional<CallFailure> end(std::uint64_t tx, bool commit) = 0;
    virtual void log(std::uint32_t level, const std::string& message) = 0;
    virtual void set_error(const std::string& message) = 0;
    virtual std::optional<std::string> config(const std::string& key) = 0;
};

// The database side of one upgrade step: every call of the plugin's plinth_host, run on the
// migration's connection inside its transaction. db_begin opens a savepoint; its commit releases
// it and its rollback rolls back to it. A failed statement outside a savepoint fails the step and
// the migration whatever the plugin returns; one inside a savepoint fails that savepoint until it
// is rolled back. Transaction control statements (BEGIN, COMMIT, ROLLBACK, SAVEPOINT...) are
// refused: they would end or split the migration's transaction. Not thread-safe: callers serialise.
class UpgradeSession final : public UpgradeBackend {
public:
    UpgradeSession(pg::Connection& connection, const model::Plugin& plugin, spdlog::logger& log, ConfigLookup config);

    std::optional<CallFailure> query(std::uint64_t tx, const std::string& sql,
                                     const std::vector<std::optional<std::string>>& params, Rows& rows) override;
    std::optional<CallFailure> begin(const std::optional<std::string>& isolation_level, std::uint64_t& tx) override;
    std::optional<CallFailure> end(std::uint64_t tx, bool commit) override;
    void log(std::uint32_t level, const std::string& message) override;
    void set_error(const std::string& message) override { error_ = message; }
    std::optional<std::string> config(const std::string& key) override;

    // After the step returned `status` (PLINTH_OK or PLINTH_ERROR): rolls back the savepoints it left
    // open, then throws UpgradeError (or the pg::Error of a lock failure, so that the migration
    // retries) when the step failed. `failure` is the runner's own reason (a crash), empty if none.
    void finish(std::uint32_t status, const UpgradeStep& step, const std::string& failure);

private:
    struct Savepoint {
        std::uint64_t id;
        bool failed = false;
        std::string why;  // the statement's error that failed it
    };
    std::vector<Savepoint>::iterator find(std::uint64_t tx);

    pg::Connection& connection_;
    const model::Plugin& plugin_;
    spdlog::logger& log_;
    ConfigLookup config_;
    std::vector<Savepoint> open_;          // innermost last
    std::uint64_t next_id_ = 1;
    std::optional<pg::Error> fatal_;       // a statement failed outside any savepoint
    std::string misuse_;                   // a refused call, kept to explain a failure
    std::string error_;                    // set_error's text
};

// Where the plugin's code runs. Throws UpgradeError, or pg::Error for a lock failure.
class UpgradeRunner {
public:
    virtual ~UpgradeRunner() = default;
    virtual void run(const UpgradeStep& step, pg::Connection& connection, spdlog::logger& log) = 0;
};

// In plinth's own process: a crash of the plugin ends plinth (the transaction is then rolled back
// by the server). For debugging a step under gdb.
std::unique_ptr<UpgradeRunner> in_process_upgrades(ConfigLookup config = {});

// In a child process forked for each step (the default): the child's plinth_host sends each call
// over a socket pair to plinth, which runs it on the migration's connection and sends the answer
// back. A crash, exit or hang (past `timeout`) of the child fails the step, naming the plugin, the
// phase and the signal or exit status; plinth itself goes on and rolls back.
std::unique_ptr<UpgradeRunner> forked_upgrades(ConfigLookup config = {},
                                               std::chrono::milliseconds timeout = std::chrono::minutes(10));

// "plugin \"notes\" (notes.so), upgrade from 1.0.0 to 2.0.0": how messages name a step.
std::string describe(const UpgradeStep& step);

// The spdlog level of a PLINTH_LOG_* level a plugin logs at through its plinth_host, in an upgrade
// step or (host/host_context.cpp) while it runs; an unknown level logs as an error.
spdlog::level::level_enum plugin_log_level(std::uint32_t level);

}  // namespace plinth::apply
