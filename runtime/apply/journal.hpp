// plinth's own bookkeeping in the journal schema ("plinth" unless --journal-schema names another):
// the history of applied migrations, per plugin, and the state the fast path compares against.
// Every function runs inside the caller's transaction.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "model/schema.hpp"
#include "pg/connection.hpp"

namespace plinth::apply {

constexpr const char* kDefaultJournalSchema = "plinth";

// The tables of the journal; with their sequences and indexes (journal_relations), the catalog
// reads leave them out, so a journal schema shared with plugins (public) is not read as theirs.
constexpr const char* kJournalTables[] = {"migrations", "journal", "state", "backfills", "ddl_epoch"};
// Every relation the journal makes in `schema`, as "schema.name".
std::vector<std::string> journal_relations(const std::string& schema);

// The transaction-scoped advisory lock every migrating instance takes first ("plinth" in ASCII).
constexpr std::int64_t kAdvisoryLockKey = 0x706c696e7468;

// A statement and its time on the server; none for a statement timed with others (one on a table
// the same migration created: see docs/ARCHITECTURE.md, "Round trips of a cold start").
struct StatementRecord {
    std::string sql;
    std::optional<double> ms;
};

// Work after a migration's commit (a concurrent index build, a validation) and how it ended.
struct AfterCommitRecord {
    std::string plugin;
    std::string table;
    std::string summary;
    std::string sql;
    double ms = 0;
    std::string error;  // empty: it succeeded
};

// One migration as `plinth history` shows it.
struct MigrationRecord {
    std::int64_t id = 0;
    std::string applied_at;      // ISO 8601, UTC
    std::string plinth_version;
    std::int64_t statements = 0;
    double duration_ms = 0;
    std::vector<std::string> notes;
    struct Plugin {
        std::string name;
        std::string version;
        std::string previous_version;  // empty: first recorded here
        std::string schema_hash;
        std::vector<StatementRecord> statements;
        std::string upgraded_from;  // empty: no upgrade step ran for it in this migration
    };
    std::vector<Plugin> plugins;
    std::vector<AfterCommitRecord> after_commit;  // empty in journals older than this record
};

struct JournalState {
    std::string desired_hash;
    std::string catalog_fingerprint;  // empty while work after a commit is unfinished
};

// What the fast path compares, read in one statement (one snapshot): the fingerprint, and, where
// the DDL epoch's event triggers are in place, the epoch and its guard (see ddl_guard_sql).
struct CatalogMark {
    std::string fingerprint;           // empty while work is pending (introspect::fingerprint_query)
    std::optional<std::string> epoch;  // none: no DDL epoch to record
    std::optional<std::string> guard;
};

// Where a backfill stands (plinth.backfills): one record per column, kept after it finished.
struct BackfillProgress {
    std::string expression;             // the backfill it records; another one starts over
    std::string phase;                  // "fill", "sweep" (rows written while it ran), "done"
    std::optional<std::vector<std::string>> last_key;  // the last primary key done, as text; none: from the start
    std::int64_t rows_done = 0;         // rows its batches went through
    std::int64_t rows_filled = 0;       // of those, the ones it set
    std::int64_t rows_total = 0;        // the table's rows when it started
    std::int64_t batches = 0;
};

// What a no-op start reads of the journal (Journal::recorded_key), in one statement.
struct RecordedKeyRow {
    std::optional<std::string> plugins_key;  // none recorded
    bool plan_clean = false;
    bool epoch_holds = false;  // the recorded epoch and guard are the current ones
    bool in_recovery = false;  // the server is a standby
    bool read_only = false;    // transaction_read_only is on
};

struct PluginRecord {
    std::string version;
    std::string schema_hash;
    std::string applied_at;
    std::int64_t migration_id = 0;
};

class Journal {
public:
    // `schema`: where the journal lives (see kDefaultJournalSchema); it need not exist yet.
    explicit Journal(pg::Connection& connection, std::string schema = kDefaultJournalSchema);

    const std::string& schema() const noexcept { return schema_; }

    bool exists();
    // What of the journal exists. complete: it has what the fast paths read (the DDL epoch's table,
    // the state's columns, this plinth's fingerprint function); a journal made by an older plinth,
    // or missing them, is completed by the slow path. schema, function: what create() need not make.
    struct Presence {
        bool complete = false, schema = false, function = false;
    };
    // The presence as three boolean columns of a select list, so that another statement can carry
    // them (the slow path's lock: a simple query of several statements, which takes no parameters,
    // so the names are quoted literals); read_presence reads them from `column` on, in row 0.
    std::string presence_columns() const;
    static Presence read_presence(const pg::Result& result, int column);
    std::optional<JournalState> state();
    // Creates the schema (only when missing: CREATE SCHEMA IF NOT EXISTS needs CREATE on the
    // database even when the schema exists), the tables if missing and the fingerprint function if
    // missing, in one round trip; call only under the advisory lock, with a presence read under it.
    void create(const Presence& presence);
    std::map<std::string, PluginRecord> latest_per_plugin();
    // One plugin's part in a migration's record.
    struct PluginPart {
        const model::Plugin* plugin;
        std::string schema_hash;
        std::vector<StatementRecord> statements;
        std::optional<std::string> upgraded_from;  // the version its upgrade step ran from, if it ran
        double ms = 0;  // its statements' time, those timed together included
    };
    // Records a migration and the part of each of `parts` (in that order) in one statement, whatever
    // the number of plugins; returns the migration's id.
    std::int64_t record_migration(const std::string& desired_hash, std::size_t statements, double ms,
                                  const std::vector<std::string>& notes, const std::vector<PluginPart>& parts);
    void record_after_commit(std::int64_t migration_id, const std::vector<AfterCommitRecord>& work);
    // The newest `limit` migrations, newest first; with `plugin`, only those that recorded it, and
    // of each only that plugin's part.
    std::vector<MigrationRecord> history(const std::string& plugin, int limit);
    // For each "schema.table" of `tables` that a recorded CREATE TABLE made: who made it, as
    // `plugin "p" (version 1.0.0, migration 3)`.
    std::map<std::string, std::string> table_creators(const std::vector<std::string>& tables);
    // Records the state a later start compares against. The epoch is recorded only with its guard
    // and a fingerprint (no pending work); otherwise the fast path falls back to the fingerprint.
    // `plugins_key` (apply/migrate.cpp's memo key; nullopt: none) lets a later start with the same
    // key skip loading the plugins while the epoch holds. `plan_clean`: the plan that led here had
    // nothing plinth leaves alone and no notes, so `plan` may print an empty one from the key alone.
    void save_state(const std::string& desired_hash, const CatalogMark& mark,
                    const std::optional<std::string>& plugins_key = std::nullopt, bool plan_clean = false);
    // After a fast path that loaded the plugins: records their key, unless the state changed since.
    void save_plugins_key(const std::string& desired_hash, const std::string& plugins_key);
    // After a fast path that trusted the fingerprint: records the epoch and guard read in the same
    // statement, unless the state changed since (another instance migrated).
    void arm_ddl_epoch(const std::string& desired_hash, const CatalogMark& mark);

    // The DDL epoch (docs/ARCHITECTURE.md, "The DDL epoch"): event triggers on ddl_command_end,
    // sql_drop and ddl_command_start (CREATE INDEX and CREATE FUNCTION only) that count DDL in
    // {j}.ddl_epoch. Installs (superuser only: PostgreSQL 15 allows event triggers to no one else)
    // or replaces an outdated trigger function, creates the triggers that are missing and remakes a
    // start trigger with other tags (from an older plinth); one left disabled by an operator stays
    // disabled. Returns whether it installed anything. Idempotent.
    bool install_ddl_epoch();
    // SQL expressions for the current epoch (the sum of {j}.ddl_epoch) and its guard: the postmaster's
    // start time with the xmin of each event trigger, NULL unless all three exist, fire ALWAYS and
    // call the trigger function. Parameter $names_param must be ddl_trigger_names() as a text array.
    std::string ddl_epoch_sql() const;
    std::string ddl_guard_sql(int names_param = 2) const;
    // Whether the epoch holds: the state row `state` (an alias of {j}.state) records the epoch and
    // guard that the SQL expressions `epoch` and `guard` give now; false when either is NULL.
    static std::string epoch_holds_sql(const std::string& state, const std::string& epoch, const std::string& guard);
    std::vector<std::string> ddl_trigger_names() const;
    // The no-op start's one statement: the recorded plugins key, whether the epoch holds (the
    // recorded epoch and guard are those ddl_epoch_sql and ddl_guard_sql give now) and whether the
    // session may write. Written for the new backend where it runs: it asks for raw values, one row
    // per event trigger, and compares them here, so the server resolves no cast, concatenation or
    // filtered aggregate (docs/BENCHMARKS.md, eighth round). It does not check the trigger
    // function: a trigger made again has a new xmin. nullopt without a state row; throws pg::Error
    // when the journal lacks what it reads.
    std::optional<RecordedKeyRow> recorded_key();
    // The qualified name of a plpgsql function in the journal schema that runs
    // introspect::fingerprint_query() ($1: the owned schemas), named after a hash of that query so a
    // plinth with another fingerprint never calls an older one. The fast path calls it rather than
    // embedding the query: the server then plans the query only when the fingerprint is needed
    // (planning it costs more than reading the epoch). create() makes it.
    std::string fingerprint_function() const;
    // Whether migration `id` with `desired_hash` is recorded: how a COMMIT whose outcome was unknown
    // is resolved, on any server that took over since.
    bool has_migration(std::int64_t id, const std::string& desired_hash);

    // The backfill of "schema.table" column `column`, if one was recorded (none in a journal older
    // than backfills).
    std::optional<BackfillProgress> backfill(const std::string& table, const std::string& column);
    // Records a backfill starting over in `phase`, from the first key.
    void start_backfill(const std::string& plugin, const std::string& table, const std::string& column,
                        const std::string& expression, const std::string& phase, std::int64_t rows_total);
    // One batch done: in the batch's own transaction, so the record and the rows commit together.
    void record_batch(const std::string& table, const std::string& column, const std::vector<std::string>& last_key,
                      std::int64_t rows, std::int64_t filled);
    void finish_backfill(const std::string& table, const std::string& column);

private:
    // `sql` with every {j} replaced by the quoted schema.
    std::string in_schema(std::string_view sql) const;

    pg::Connection& connection_;
    std::string schema_;
    std::string quoted_;
};

}  // namespace plinth::apply
