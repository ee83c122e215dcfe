// Stage "apply": the whole migration of a run, in one transaction under an advisory lock.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "apply/journal.hpp"
#include "apply/upgrade.hpp"
#include "introspect/judge.hpp"
#include "pipeline/plugin_set.hpp"
#include "pg/connection.hpp"
#include "plan/plan.hpp"

namespace spdlog {
class logger;
}

namespace plinth::apply {

struct MigrateOptions {
    // How long one statement may wait for a table lock before the attempt is rolled back (0: no
    // limit). Short, because every writer of a table queues behind a DDL statement waiting for it.
    // Waiting for another plinth instance's migration is not bounded by it.
    std::chrono::milliseconds lock_timeout{200};
    // How long attempts that failed on a lock are retried, with jittered exponential backoff.
    std::chrono::milliseconds lock_budget{30000};
    // Polled while waiting for another instance's migration and between attempts; returning true
    // abandons the migration with a MigrationError (nothing changed). Empty: never.
    std::function<bool()> should_stop;
    // Opens a new connection to the same database: used to judge the declared SQL while the
    // statements run (empty: it is judged first, on the migration's connection), to learn the
    // outcome of a COMMIT whose connection broke (empty: that outcome is reported as unknown), and
    // to watch index builds.
    std::function<pg::Connection()> reconnect;
    // While an index is built after the commit, its progress (pg_stat_progress_create_index, read on
    // a connection of its own from `reconnect`) is logged at most this often. Without `reconnect`,
    // only its start and end are.
    std::chrono::milliseconds progress_interval{5000};
    // A plugin whose declared SQL the server rejects ends the migration before any statement runs,
    // instead of being skipped with its dependents.
    bool strict = false;
    // What the operator allows beyond plinth's own rules (--allow-hazard table-rewrite).
    plan::PlanOptions plan;
    // A backfill after the commit updates at most this many rows (by primary key) per transaction,
    // and pauses this long between two batches, so that writers get the table in between.
    std::int64_t backfill_batch_rows = 2000;
    std::chrono::milliseconds backfill_pause{20};
    // Runs the upgrade steps of plugins whose version changed (ABI 1.4). Empty: each in a child
    // process of its own (forked_upgrades), without configuration values.
    std::shared_ptr<UpgradeRunner> upgrades;
    // Where the journal, the fast path's state and their lock live (--journal-schema).
    std::string journal_schema = kDefaultJournalSchema;
    // Where the DDL epoch is armed, about one start in this many (at random) still computes the
    // full fingerprint, catching what the epoch cannot see (a catalog edited by hand). 1: every
    // start; 0: never by chance (a server restart still forces it).
    int full_fingerprint_every = 100;
};

// Plugins refused after validation because the server rejected some of their declared SQL.
struct Refusals {
    std::vector<validate::Problem> problems;
    std::vector<validate::Skip> skipped;  // the plugins with problems, then those that need them
    bool empty() const { return skipped.empty(); }
};

// One statement of the plan as it ran in the committed transaction.
struct AppliedStatement {
    std::string plugin;
    std::string table;
    std::string summary;
    std::string sql;
    std::optional<double> ms;  // none: timed with others (see StatementRecord)
};

struct MigrateOutcome {
    bool up_to_date_fast = false;       // the fingerprint or DDL epoch matched: nothing was introspected
    // How the fast path decided: "ddl epoch" (the epoch and its guard unchanged) or "fingerprint";
    // empty when it did not decide "up to date".
    std::string fast_path_detector;
    std::size_t statements_applied = 0; // in the transaction and after it
    std::int64_t migration_id = 0;      // the journal's record of this run; 0: nothing recorded
    std::vector<AppliedStatement> statements;   // in the transaction
    std::vector<AfterCommitRecord> after_commit;  // after it, each with how it ended (as the journal keeps it)
    std::vector<plan::UpgradeDue> upgrades;       // upgrade steps run in the transaction, in order
    std::vector<std::string> warnings;  // what the plan would not do, with the SQL to do it by hand
    std::vector<std::string> notes;     // the plan's notes (the pgvector fallback, say)
    // Work after the commit (concurrent index builds, validations) that failed; retried next start.
    std::vector<std::string> after_commit_failures;
    // Plugins the server's judgement refused; they are out of the set given to migrate too.
    Refusals refused;
};

// A failed migration: nothing of the transaction stayed, except after a connection lost during
// COMMIT, where the message says what the journal, read on a new connection (on whichever server is
// the primary by then), tells: committed, not committed, or unknown when no server answered; the
// next start resolves the last case from the journal. Names the plugin, table, statement and
// SQLSTATE when a statement failed; a permission failure (42501) also names docs/deploying.md.
// A server in recovery (a standby) or a read-only session is refused before anything, saying how
// to reach the primary.
class MigrationError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Asks the server to judge every SQL fragment the valid plugins of `set` declare
// (introspect::judge_declared_sql, rolled back) and refuses each plugin with a rejected fragment,
// with every plugin that needs it (pipeline::refuse): `set` keeps the others, ordered again.
// Logs each problem and skip as a warning (an error with `strict`).
Refusals judge_declared_sql(pg::Connection& connection, pipeline::PluginSet& set, spdlog::logger& log,
                            bool strict = false);

// What judge_declared_sql does with the server's rejections: refuses each plugin with one, with
// every plugin that needs it, and logs them.
Refusals refuse_rejected(pipeline::PluginSet& set, std::vector<introspect::Rejection> rejections, spdlog::logger& log,
                         bool strict = false);

// Brings the database to the schema the valid plugins of `set` declare. On the slow path the server
// judges their declared SQL (judge_declared_sql; on a connection of its own from
// MigrateOptions::reconnect while the statements run, and always before the commit): a plugin
// refused there leaves `set`, and MigrateOutcome::refused names it. Throws MigrationError
// when it cannot, or pg::Error when talking to the server fails outside a plan statement (a lost
// connection, a journal write); either way the transaction is rolled back (see MigrationError for
// a connection lost during COMMIT).
MigrateOutcome migrate(pg::Connection& connection, pipeline::PluginSet& set, const MigrateOptions& options,
                       spdlog::logger& log);

// The no-op start that loads no plugin in plinth's own process (docs/ARCHITECTURE.md, "The plugins
// key"), in two parts, so that the query runs while the load probe does:
// - trusted_plugins_key: one round trip; the plugins key the journal records for the last
//   migration, which loaded, validated and judged its plugins without a complaint, when the DDL
//   epoch and its guard are unchanged since; nullopt otherwise, or without a journal, or with
//   full_fingerprint_every 1 (the full check needs the plugins: nothing is asked then). Throws
//   MigrationError for a standby or a read-only session, as migrate does.
// - same_plugins_key: whether that record is this start's: the same plugins (pipeline::plugins_key
//   of the files, from the load probe's digests), plinth version and plan options. Then the
//   database is what migrate would leave, and there is nothing to do.
// KeyUse::read (plan and status) does not refuse a standby or a read-only session.
// RecordedKey::plan_clean: that migration's plan had nothing plinth leaves alone and no notes, so the
// plan of the database now is empty too (what `plan` prints without loading anything).
enum class KeyUse { migrate, read };
struct RecordedKey {
    std::string key;
    bool plan_clean = false;
};
std::optional<RecordedKey> trusted_plugins_key(pg::Connection& connection, const MigrateOptions& options,
                                               KeyUse use = KeyUse::migrate);
bool same_plugins_key(const RecordedKey& recorded, const std::string& plugins_key, const MigrateOptions& options);

// Whether this start is the one in full_fingerprint_every (at random) that checks the full
// fingerprint. Drawn once per start, so that trusted_plugins_key and migrate agree: give migrate
// 1 when it is, 0 when not.
bool full_fingerprint_due(const MigrateOptions& options);

// "committed", "aborted" or "in progress" for a transaction id (pg_current_xact_id() as text), or
// empty when the server no longer remembers it.
std::string commit_status(pg::Connection& connection, const std::string& transaction_id);

// The plan against the live database, read-only and without the lock.
plan::Plan current_plan(pg::Connection& connection, const pipeline::PluginSet& set,
                        const plan::PlanOptions& options = {},
                        const std::string& journal_schema = kDefaultJournalSchema);
// The same for plan and status: a catalog read waits at most `lock_timeout` (0: no limit) for a
// table lock; past it, MigrationError names the locked table and the process holding it.
plan::Plan current_plan(pg::Connection& connection, const pipeline::PluginSet& set,
                        std::chrono::milliseconds lock_timeout, const plan::PlanOptions& options = {},
                        const std::string& journal_schema = kDefaultJournalSchema);

// Why migrating on this connection cannot work, or nullopt: the server is in recovery (a standby)
// or the session is read-only (default_transaction_read_only, or a read-only pooler), with how to
// reach the primary instead. One round trip.
std::optional<std::string> read_only_reason(pg::Connection& connection);

}  // namespace plinth::apply
