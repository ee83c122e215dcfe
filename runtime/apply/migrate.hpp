// Stage "apply": the whole migration of a run, in one transaction under an advisory lock.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "pipeline/plugin_set.hpp"
#include "pg/connection.hpp"
#include "plan/plan.hpp"

namespace spdlog {
class logger;
}

namespace plinth::apply {

struct MigrateOptions {
    // How long one DDL statement may wait for a table lock before the attempt is rolled back and
    // retried with backoff; waiting for another plinth instance's migration is not bounded by it.
    std::chrono::milliseconds lock_timeout{5000};
    int max_attempts = 5;
    // Polled while waiting for another instance's migration; returning true abandons the wait with
    // a MigrationError (nothing changed). Empty: wait as long as it takes.
    std::function<bool()> should_stop;
    // Opens a new connection to the same database: used to learn the outcome of a COMMIT whose
    // connection broke. Empty: that outcome is reported as unknown.
    std::function<pg::Connection()> reconnect;
};

struct MigrateOutcome {
    bool up_to_date_fast = false;       // the fingerprint matched: nothing was introspected
    std::size_t statements_applied = 0; // in the transaction and after it
    std::vector<std::string> warnings;  // what the plan would not do, with the SQL to do it by hand
    // Work after the commit (concurrent index builds, validations) that failed; retried next start.
    std::vector<std::string> after_commit_failures;
};

// A failed migration: nothing of the transaction stayed, except after a connection lost during
// COMMIT, where the message says what the server answered on a new connection (committed, rolled
// back, or unknown with the query to ask later). Names the plugin, table, statement and SQLSTATE
// when a statement failed.
class MigrationError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Brings the database to the schema the valid plugins of `set` declare. Throws MigrationError
// when it cannot, or pg::Error when talking to the server fails outside a plan statement (a lost
// connection, a journal write); either way the transaction is rolled back (see MigrationError for
// a connection lost during COMMIT).
MigrateOutcome migrate(pg::Connection& connection, const pipeline::PluginSet& set, const MigrateOptions& options,
                       spdlog::logger& log);

// "committed", "aborted" or "in progress" for a transaction id (pg_current_xact_id() as text), or
// empty when the server no longer remembers it.
std::string commit_status(pg::Connection& connection, const std::string& transaction_id);

// The plan against the live database, read-only and without the lock (for plan and status).
plan::Plan current_plan(pg::Connection& connection, const pipeline::PluginSet& set);

}  // namespace plinth::apply
