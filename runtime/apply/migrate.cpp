#include "apply/migrate.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <condition_variable>
#include <future>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include <sys/socket.h>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "apply/journal.hpp"
#include "introspect/catalog.hpp"
#include "introspect/judge.hpp"
#include "introspect/lock_table.hpp"
#include "introspect/probe.hpp"
#include "model/text.hpp"
#include "pg/pipeline.hpp"
#include "plan/lock_budget.hpp"

namespace plinth::apply {
namespace {

using Clock = std::chrono::steady_clock;

// Why a session that is in recovery or read-only cannot migrate, with how to reach the primary.
std::optional<std::string> read_only_message(const pg::Connection& connection, bool in_recovery, bool read_only);

double ms_since(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

std::string blocking_report(const plan::Plan& plan) {
    std::string out = "migration refused before any statement ran; the database is unchanged:";
    for (const auto& nd : plan.not_done)
        if (nd.blocking) out += "\n  " + plan::render_not_done(nd, plan::NotDoneStyle::report);
    return out;
}

std::vector<std::string> warnings_of(const plan::Plan& plan) {
    std::vector<std::string> out;
    for (const auto& nd : plan.not_done)
        if (!nd.blocking) out.push_back(plan::render_not_done(nd, plan::NotDoneStyle::warning));
    return out;
}

// Who holds a lock that a lock failure could not have: for a statement, the existing tables it
// locks; for a catalog read (`failed` empty), any table of `schemas` held ACCESS EXCLUSIVE, the only
// mode its ACCESS SHARE waits for. Asked after the rollback, in one short query per table.
std::string lock_holders_report(pg::Connection& connection, const plan::Operation* failed,
                                const std::vector<std::string>& schemas) {
    std::vector<std::string> lines;
    if (failed && !failed->locks.empty()) {
        for (const auto& lock : failed->locks)
            for (auto& line : introspect::lock_holders(connection, {lock.table}, schemas,
                                                       introspect::conflicting_modes(lock.mode)))
                lines.push_back(std::move(line) + " (this statement needs " + lock.mode + ")");
    } else {
        lines = introspect::lock_holders(connection, failed ? std::vector{failed->table} : std::vector<std::string>{},
                                         schemas, introspect::conflicting_modes(failed ? "ACCESS EXCLUSIVE" : "ACCESS SHARE"));
    }
    if (lines.empty()) return "\n  the lock holder had already let go when asked";
    std::string out;
    for (const auto& line : lines) out += "\n  " + line;
    return out;
}

// What the journal records as the plugins key (see trusted_plugins_key): the plugins' key, and what
// else decides the plan for the same declarations: this plinth's version, the planner's rules and
// the operator's options (desired_hash of no plugins is a hash of those two alone).
std::string memo_key(const std::string& plugins_key, const plan::PlanOptions& options) {
    return plugins_key + " " + plan::desired_hash({}, options) + " " + PLINTH_VERSION;
}

// An attempt rolled back for the server's judgement of the declared SQL (see Migration::settle).
struct JudgedAgain : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// The server's judgement of the declared SQL (introspect::judge_declared_sql) on a connection of
// its own, in a thread, while the migration's connection plans and runs the statements: a cold
// start does not wait for it (it was a sixth of one at 800 tables). It reads only what is
// committed, as the judgement before planning did. Its lock timeout is the migration's (1 s when
// that is 0), so it can never wait for a lock of the migration's transaction for good while that
// transaction waits for it. The plugins it reads are not changed until finish().
class ParallelJudge {
public:
    struct Verdict {
        std::optional<std::vector<introspect::Rejection>> rejections;  // nullopt: the judgement failed
        std::string error;
        double ms = 0;  // from start() to its end
    };

    ParallelJudge() = default;
    ParallelJudge(const ParallelJudge&) = delete;
    ParallelJudge& operator=(const ParallelJudge&) = delete;
    // Left unfinished (the attempt ended early: another instance did the work, a statement failed
    // on a lock), the judgement is not waited for: its connection's socket is shut down, so its
    // next read or write fails at once, and the server rolls its transaction back.
    ~ParallelJudge() {
        if (!thread_.joinable()) return;
        {
            std::lock_guard lock(mu_);
            abandoned_ = true;
            if (socket_ >= 0) ::shutdown(socket_, SHUT_RDWR);
        }
        thread_.join();
    }

    // Returns once the judgement's transaction has begun (or failed to): called before the
    // migration's own BEGIN, so that behind a pooler with few server connections the judgement
    // already has its own when the migration's transaction waits for it.
    void start(const std::function<pg::Connection()>& connect, const std::vector<model::Plugin>& plugins,
               std::chrono::milliseconds lock_timeout) {
        const auto timeout = lock_timeout.count() > 0 ? lock_timeout : std::chrono::milliseconds(1000);
        std::promise<void> began;
        auto ready = began.get_future();
        thread_ = std::thread([this, connect, &plugins, timeout, began = std::move(began)]() mutable {
            const auto started = Clock::now();
            bool told = false;
            try {
                auto connection = connect();
                // Forgets the socket before the connection closes it (its number may be reused).
                struct Forget {
                    ParallelJudge& judge;
                    ~Forget() {
                        std::lock_guard lock(judge.mu_);
                        judge.socket_ = -1;
                    }
                } forget{*this};
                {
                    std::lock_guard lock(mu_);
                    if (abandoned_) throw std::runtime_error("abandoned");
                    socket_ = PQsocket(connection.native());
                }
                backend_pid_ = PQbackendPID(connection.native());
                connection.exec("BEGIN; SET LOCAL lock_timeout = '" + std::to_string(timeout.count()) + "ms'");
                began.set_value();
                told = true;
                verdict_.rejections = introspect::judge_declared_sql(connection, plugins);
                connection.exec("ROLLBACK");
            } catch (const std::exception& e) {
                verdict_.rejections.reset();
                verdict_.error = e.what();
            }
            if (!told) began.set_value();
            verdict_.ms = ms_since(started);
        });
        ready.wait();
    }
    bool running() const { return thread_.joinable(); }
    // The server process of the judgement's connection (0: none), set before start() returns.
    int backend_pid() const { return backend_pid_; }
    Verdict finish() {
        thread_.join();
        return std::move(verdict_);
    }

private:
    std::thread thread_;
    Verdict verdict_;
    std::mutex mu_;          // guards socket_ and abandoned_
    int socket_ = -1;        // the judgement's connection, while open
    int backend_pid_ = 0;
    bool abandoned_ = false;
};

class Migration {
public:
    Migration(pg::Connection& connection, pipeline::PluginSet& set, const MigrateOptions& options, spdlog::logger& log)
        : connection_(connection), set_(set), options_(options), log_(log),
          plugins_(set.validation.plugins), schemas_(plan::owned_schemas(plugins_)),
          desired_(plan::desired_hash(plugins_, options.plan)),
          schemas_param_{introspect::text_array(schemas_)},
          memo_(set.all_valid() && set.plugins_key ? std::optional(memo_key(*set.plugins_key, options.plan))
                                                   : std::nullopt) {}

    MigrateOutcome run() {
        MigrateOutcome outcome;
        const auto round_trips = connection_.round_trips();
        refuse_journal_names();
        // A standby would pass the fast path and then serve plugins that cannot write: the fast
        // path's query asks too (one round trip), and refuses before deciding anything.
        if (auto detector = up_to_date_fast()) {
            outcome.up_to_date_fast = true;
            outcome.fast_path_detector = std::move(*detector);
            return outcome;
        }
        if (auto why = read_only_reason(connection_)) throw MigrationError(*why);
        std::vector<plan::Operation> after_commit;
        const auto deadline = Clock::now() + options_.lock_budget;
        std::minstd_rand jitter(std::random_device{}());
        for (int attempt = 1;; ++attempt) {
            try {
                after_commit = attempt_in_transaction(outcome);
                break;
            } catch (const JudgedAgain&) {
                // Rolled back; the next attempt plans with the judgement's outcome.
            } catch (const pg::CommitInDoubt& e) {
                throw MigrationError(in_doubt_report(e));
            } catch (const pg::Error& e) {
                if (e.sqlstate() == "42501") throw MigrationError(permission_report(e));
                // A lock not had in time (or a deadlock) rolls the attempt back; it runs again later.
                if (!e.is_lock_failure()) throw;
                const std::string what = waiting_ ? "plugin \"" + waiting_->plugin + "\", table " + waiting_->table +
                                                        ": " + waiting_->summary
                                                  : std::string("reading the catalog");
                const std::string holders =
                    lock_holders_report(connection_, waiting_ ? &*waiting_ : nullptr, schemas_);
                // Half to all of an exponential ceiling: instances retrying at once spread out.
                const int ceiling = std::min(2000, 100 << std::min(attempt, 5));
                const auto pause = std::chrono::milliseconds(std::uniform_int_distribution<int>(ceiling / 2, ceiling)(jitter));
                if (Clock::now() + pause >= deadline)
                    throw MigrationError("migration gave up after " + std::to_string(attempt) +
                                         (attempt == 1 ? " attempt in " : " attempts in ") +
                                         std::to_string(options_.lock_budget.count()) +
                                         " ms (--lock-budget): a lock could not be had within the lock timeout; the "
                                         "database is unchanged\n  " + what + "\n  " + e.what() + holders);
                log_.warn("lock not available for {} ({}); attempt {} rolled back, retrying in {} ms{}", what,
                          e.message(), attempt, pause.count(), holders);
                pause_unless_stopped(pause);
            }
        }
        run_after_commit(after_commit, outcome);
        log_.info("migration done in {} round trips to the server", connection_.round_trips() - round_trips);
        return outcome;
    }

private:
    // One round trip: the recorded state, the DDL epoch and its guard, and, unless the epoch is
    // armed and unchanged, a fresh fingerprint (the server skips it otherwise), compared here. The
    // fingerprint is NULL while an index is invalid or a constraint not yet validated: never a fast
    // path then. Returns the detector that found the schema up to date, or nullopt.
    std::optional<std::string> up_to_date_fast() {
        Journal journal(connection_, options_.journal_schema);
        const bool full = full_fingerprint_due(options_);
        try {
            auto r = connection_.exec_params(
                "SELECT t.desired_hash, t.catalog_fingerprint, t.trusted, t.epoch, t.guard, t.ddl_guard, "
                "CASE WHEN t.trusted THEN NULL ELSE " + journal.fingerprint_function() + "($1::text[]) END, "
                "pg_catalog.pg_is_in_recovery(), current_setting('transaction_read_only'), t.plugins_key "
                "FROM (SELECT s.desired_hash, s.catalog_fingerprint, s.ddl_guard, s.plugins_key, c.epoch, c.guard, "
                "(NOT $3::boolean AND " + Journal::epoch_holds_sql("s", "c.epoch", "c.guard") + ") AS trusted "
                "FROM " + connection_.quote_identifier(options_.journal_schema) + ".state s, (SELECT " +
                    journal.ddl_epoch_sql() + " AS epoch, " + journal.ddl_guard_sql() + " AS guard) c) t",
                {schemas_param_, introspect::text_array(journal.ddl_trigger_names()), full ? "true" : "false"});
            if (r.rows() != 1) return std::nullopt;
            if (auto why = read_only_message(connection_, r.text(0, 7) == "t", r.text(0, 8) == "on"))
                throw MigrationError(*why);
            if (r.text(0, 0) != desired_) return std::nullopt;
            // The same schema from plugins whose key changed (a rebuilt file, a new version without
            // an upgrade step): the next start with these files needs not load them.
            if (memo_ && (r.is_null(0, 9) || r.text(0, 9) != *memo_)) journal.save_plugins_key(desired_, *memo_);
            if (r.text(0, 2) == "t") {
                log_.info("schema up to date (DDL epoch unchanged); nothing introspected");
                return "ddl epoch";
            }
            if (r.is_null(0, 6) || r.text(0, 1) != r.text(0, 6)) return std::nullopt;
            const CatalogMark mark{r.text(0, 6), r.value(0, 3) ? std::optional(r.text(0, 3)) : std::nullopt,
                                   r.value(0, 4) ? std::optional(r.text(0, 4)) : std::nullopt};
            log_.info("schema up to date (fingerprint matches{}); nothing introspected", fingerprint_reason(r, full));
            // The epoch's triggers are in place but it was not trusted: trusted again from here.
            if (mark.guard) journal.arm_ddl_epoch(desired_, mark);
            return "fingerprint";
        } catch (const pg::Error& e) {
            // No journal yet (first run), or one from before the DDL epoch or with another
            // fingerprint function (42883): the slow path completes it.
            if (e.is_undefined_relation() || e.sqlstate() == "42703" || e.sqlstate() == "42883") return std::nullopt;
            if (e.sqlstate() == "42501") throw MigrationError(permission_report(e));
            throw;
        }
    }

    // Why the fast path computed the fingerprint, for its log line (empty: no DDL epoch here).
    static std::string fingerprint_reason(const pg::Result& r, bool full) {
        if (r.is_null(0, 4)) return "";
        if (full) return "; the periodic full check";
        if (r.is_null(0, 5)) return "; the DDL epoch was not recorded";
        // The guard starts with the postmaster's start time.
        const auto start = [](const std::string& g) { return g.substr(0, g.find(' ', g.find(' ') + 1)); };
        if (start(r.text(0, 4)) != start(r.text(0, 5))) return "; the server restarted since the DDL epoch was recorded";
        if (r.text(0, 4) != r.text(0, 5)) return "; the DDL epoch's event triggers changed";
        return "; the DDL epoch moved";
    }

    // The fingerprint with the DDL epoch and its guard, read in one statement (one snapshot), so
    // that the epoch recorded is the one of the catalog fingerprinted.
    CatalogMark catalog_mark() {
        Journal journal(connection_, options_.journal_schema);
        auto r = connection_.exec_params(std::string("SELECT (") + introspect::fingerprint_query() + "), " +
                                             journal.ddl_epoch_sql() + ", " + journal.ddl_guard_sql(),
                                         {schemas_param_, introspect::text_array(journal.ddl_trigger_names())});
        return {r.is_null(0, 0) ? std::string() : r.text(0, 0), r.text(0, 1),
                r.is_null(0, 2) ? std::nullopt : std::optional(r.text(0, 2))};
    }

    // Empty while work is pending (see fingerprint_query), so it never matches a recorded state.
    std::string fingerprint() {
        auto r = connection_.exec_params(introspect::fingerprint_query(), {schemas_param_});
        return r.is_null(0, 0) ? std::string() : r.text(0, 0);
    }

    // Sleeps in slices so that a stop request ends the wait within 100 ms.
    void pause_unless_stopped(std::chrono::milliseconds pause) {
        const auto until = Clock::now() + pause;
        for (;;) {
            if (options_.should_stop && options_.should_stop())
                throw MigrationError("interrupted while retrying after a lock could not be had; nothing was changed");
            const auto left = until - Clock::now();
            if (left <= Clock::duration::zero()) return;
            std::this_thread::sleep_for(std::min<Clock::duration>(left, std::chrono::milliseconds(100)));
        }
    }

    // Whether another session holds the migration's advisory lock now (one short query).
    bool migration_under_way() {
        const auto key = static_cast<std::uint64_t>(kAdvisoryLockKey);
        return connection_
                   .exec_params("SELECT EXISTS (SELECT FROM pg_catalog.pg_locks WHERE locktype = 'advisory' AND granted "
                                "AND database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = "
                                "pg_catalog.current_database()) AND classid = $1::oid AND objid = $2::oid AND objsubid = 1)",
                                {std::to_string(key >> 32), std::to_string(key & 0xffffffffu)})
                   .text(0, 0) == "t";
    }

    // The transaction-scoped advisory lock, taken by polling so that should_stop can end a long wait
    // for another instance's migration. `first` goes ahead of the first poll, in its round trip
    // (BEGIN, a SET LOCAL). `columns` are read once the lock is taken, and only then: the lock is
    // the select's one-time filter, so a poll that fails evaluates none of them
    // (pg_current_xact_id() would give a transaction still waiting an id, which holds back
    // vacuum's horizon). Returns their row.
    pg::Result lock(const std::string& first = {}, const std::string& columns = "true") {
        const std::string try_lock =
            "SELECT " + columns + " WHERE pg_try_advisory_xact_lock(" + std::to_string(kAdvisoryLockKey) + ")";
        bool told = false;
        for (;;) {
            auto r = connection_.exec(told ? try_lock : first + try_lock);
            if (r.rows() == 1) return r;
            if (options_.should_stop && options_.should_stop())
                throw MigrationError("interrupted while waiting for another instance's migration; nothing was changed");
            if (!told) log_.info("waiting for another plinth instance's migration to finish");
            told = true;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }

    std::vector<plan::Operation> attempt_in_transaction(MigrateOutcome& outcome) {
        const auto started = Clock::now();
        waiting_.reset();
        recorded_id_ = 0;  // an earlier attempt's record was rolled back with it
        // The server's judgement of the declared SQL, on a connection of its own (see below); not
        // while another instance migrates: this one would most likely find the work done, and a
        // crowd of instances starting at once would each judge everything beside that migration.
        ParallelJudge parallel;
        if (judgement_ == Judgement::parallel && options_.reconnect && !migration_under_way())
            parallel.start(options_.reconnect, plugins_, options_.lock_timeout);
        pg::Transaction tx(connection_, pg::Transaction::BeginWithNext{});
        // The lock comes first, before any bookkeeping DDL, so instances never race each other. The
        // transaction id is what tells, after a connection lost during COMMIT, whether it committed.
        // BEGIN and the lock timeout go with the first poll, and the journal's presence with the lock.
        Journal journal(connection_, options_.journal_schema);
        const auto locked = lock(std::string(pg::Transaction::kBeginWithNext) + "SET LOCAL lock_timeout = '" +
                                     std::to_string(options_.lock_timeout.count()) + "ms'; ",
                                 "pg_current_xact_id()::text, " + journal.presence_columns());
        transaction_id_ = locked.text(0, 0);
        const auto presence = Journal::read_presence(locked, 1);
        if (presence.complete) {
            const auto state = journal.state();
            const auto current = fingerprint();
            if (state && state->desired_hash == desired_ && !current.empty() && state->catalog_fingerprint == current) {
                log_.info("schema brought up to date by another instance while waiting for the lock");
                tx.commit();
                return {};
            }
        }

        // The server judges the declared SQL; a plugin it refuses leaves the set, with its
        // dependents, and the rest is planned and recorded without it. On a connection of its own
        // while this one plans and runs the statements (ParallelJudge), else here, first.
        if (!parallel.running() && judgement_ != Judgement::done)
            apply_refusals(judge_declared_sql(connection_, set_, log_, options_.strict), outcome);

        const auto plan = current_plan(connection_, set_, options_.plan, options_.journal_schema);
        plan_clean_ = plan.not_done.empty() && plan.notes.empty();
        if (plan.blocked()) {
            settle(parallel, outcome);
            throw MigrationError(blocking_report(plan));
        }
        // Refused before the first statement, rather than failing midway with "out of shared memory".
        if (plan.has_operations()) {
            // The judgement running beside it holds entries too: counted at its most, not as read
            // now (which depends on how far it got), so that the advice does not change run to run.
            auto needed = plan::lock_entries_needed(plan, plugins_);
            std::vector<int> ours;
            if (parallel.running() && parallel.backend_pid() != 0) {
                needed += plan::judgement_lock_entries(plugins_, introspect::kJudgeTablesPerChunk);
                ours.push_back(parallel.backend_pid());
            }
            if (auto refusal = plan::lock_budget_refusal(needed, introspect::read_lock_table(connection_, ours))) {
                settle(parallel, outcome);
                throw MigrationError(*refusal);
            }
        }
        outcome.warnings = warnings_of(plan);
        for (const auto& w : outcome.warnings) log_.warn("will not do: {}", w);
        for (const auto& note : plan.notes) log_.info("{}", note);
        outcome.notes = plan.notes;

        journal.create(presence);
        std::map<std::string, std::vector<StatementRecord>> applied;  // by plugin
        std::vector<AppliedStatement> ran;
        std::vector<plan::Operation> after_commit;
        std::vector<const plan::Operation*> in_transaction;
        for (const auto& op : plan.operations) {
            if (op.phase == plan::Phase::after_commit)
                after_commit.push_back(op);
            else
                in_transaction.push_back(&op);
        }
        Times times;
        try {
            times = execute(in_transaction);
        } catch (const MigrationError&) {
            settle(parallel, outcome);  // a statement the judge would have refused, perhaps
            throw;
        }
        // Before any plugin code runs in the transaction (the upgrade steps) and before the commit.
        settle(parallel, outcome);
        std::map<std::string, double> plugin_ms;
        for (std::size_t i = 0; i < in_transaction.size(); ++i) {
            const auto& op = *in_transaction[i];
            const auto ms = times.alone[i] ? std::optional(times.ms[i]) : std::nullopt;
            applied[op.plugin].push_back({op.sql, ms});
            plugin_ms[op.plugin] += times.ms[i];
            ran.push_back({op.plugin, op.table, op.summary, op.sql, ms});
        }
        const std::size_t statements = in_transaction.size();
        // After the DDL and before the commit, each plugin whose version changed since the journal's
        // record runs its upgrade step in this transaction, in initialisation order. Under the
        // advisory lock, the journal read here and written below make it once per version change.
        const auto previous = journal.latest_per_plugin();
        const auto upgraded = run_upgrades(previous);
        // Last of the DDL, so that the plan's statements and the upgrade steps do not each fire it.
        if (journal.install_ddl_epoch()) log_.info("installed the DDL epoch's event triggers (docs/ARCHITECTURE.md)");
        std::int64_t id = 0;
        if (statements > 0 || after_commit.size() > 0 || !journal.state() || !upgraded.empty()) {
            std::vector<Journal::PluginPart> parts;
            for (const auto& p : plugins_) {
                auto hash = plan::schema_hash(p);
                auto last = previous.find(p.name);
                const bool changed = last == previous.end() || last->second.version != p.version ||
                                     last->second.schema_hash != hash;
                const auto from = upgraded.find(p.name);
                if (applied.count(p.name) || changed)
                    parts.push_back({&p, std::move(hash), applied[p.name],
                                     from == upgraded.end() ? std::nullopt : std::optional(from->second),
                                     plugin_ms[p.name]});
            }
            id = journal.record_migration(desired_, statements, ms_since(started), plan.notes, parts);
            recorded_id_ = id;
            log_.info("applied {} statement{} in one transaction ({:.1f} ms)", statements, statements == 1 ? "" : "s",
                      ms_since(started));
        }
        // With work left for after the commit (an index not built yet, a constraint not validated),
        // the fingerprint is empty: until that work is done, every start takes the slow path.
        journal.save_state(desired_, after_commit.empty() ? catalog_mark() : CatalogMark{}, memo_, plan_clean_);
        tx.commit();
        outcome.statements_applied += statements;
        outcome.migration_id = id;
        outcome.statements = std::move(ran);
        outcome.upgrades.clear();
        for (const auto index : set_.ordering.plugins)
            if (const auto& p = plugins_.at(index); upgraded.count(p.name))
                outcome.upgrades.push_back({p.name, upgraded.at(p.name), p.version});
        return after_commit;
    }

    // The upgrade steps due: plugin -> the version it upgraded from. A failed step ends the attempt
    // (MigrationError; a lock failure in it is retried like any other).
    std::map<std::string, std::string> run_upgrades(const std::map<std::string, PluginRecord>& previous) {
        std::map<std::string, std::string> upgraded;
        for (const auto index : set_.ordering.plugins) {
            const auto& p = plugins_.at(index);
            const auto last = previous.find(p.name);
            if (!p.lifecycle.upgrade || last == previous.end() || last->second.version == p.version) continue;
            if (!upgrades_)
                upgrades_ = options_.upgrades ? options_.upgrades : std::shared_ptr<UpgradeRunner>(forked_upgrades());
            const UpgradeStep step{&p, last->second.version};
            const auto t0 = Clock::now();
            log_.info("{}: started", describe(step));
            try {
                upgrades_->run(step, connection_, log_);
            } catch (const UpgradeError& e) {
                throw MigrationError("migration failed and was rolled back; the database is unchanged.\n  " +
                                     std::string(e.what()));
            }
            log_.info("{}: done in {:.1f} ms", describe(step), ms_since(t0));
            upgraded.emplace(p.name, step.previous_version);
        }
        return upgraded;
    }

    // Asks the server, on a new connection, what became of the transaction whose COMMIT was cut off.
    // Asks the journal, on a new connection, what became of the transaction whose COMMIT was cut
    // off. After a failover the new connection reaches the new primary, whose journal is the truth
    // from then on; a transaction id is no evidence there (the new primary may have given it to
    // another transaction), so it is asked only whether the transaction is still in progress (a
    // COMMIT waiting for synchronous replication on a server still up).
    std::string in_doubt_report(const pg::CommitInDoubt& e) {
        const std::string out = "the connection was lost during the migration's COMMIT (transaction " +
                                transaction_id_ + "): ";
        const std::string unknown = "its outcome is unknown; the next start reads the journal and finishes the work";
        if (!options_.reconnect || recorded_id_ == 0) return out + unknown + "\n  " + e.what();
        try {
            auto fresh = options_.reconnect();
            if (Journal(fresh, options_.journal_schema).has_migration(recorded_id_, desired_))
                return out + "it committed: the journal records migration " + std::to_string(recorded_id_) +
                       "; the schema is in place and the next start continues from it";
            std::string status;
            try {
                status = commit_status(fresh, transaction_id_);
            } catch (const pg::Error&) {  // an id the server never gave out ("in the future"): not there
            }
            if (status == "in progress") return out + "it is still in progress on the server; " + unknown;
            return out + "it did not commit: the journal does not record migration " + std::to_string(recorded_id_) +
                   "; the database is unchanged and the next start applies the migration again";
        } catch (const pg::Error& again) {
            return out + unknown + " (reconnecting failed: " + again.what() + ")";
        }
    }

    // The plugins the server's judgement refused leave the set (see judge_declared_sql); with
    // --strict, the migration ends.
    void apply_refusals(Refusals refused, MigrateOutcome& outcome) {
        judgement_ = Judgement::done;
        if (refused.empty()) return;
        if (options_.strict)
            throw MigrationError("--strict: " + std::to_string(refused.skipped.size()) +
                                 (refused.skipped.size() == 1 ? " plugin" : " plugins") +
                                 " refused after the server's judgement of their declared SQL (see above); "
                                 "nothing was applied");
        schemas_ = plan::owned_schemas(plugins_);
        desired_ = plan::desired_hash(plugins_, options_.plan);
        memo_.reset();  // the next start must judge them again
        schemas_param_ = introspect::text_array(schemas_);
        for (auto& p : refused.problems) outcome.refused.problems.push_back(std::move(p));
        for (auto& s : refused.skipped) outcome.refused.skipped.push_back(std::move(s));
    }

    // Waits for the parallel judgement. Returns when it refused nothing. Otherwise the attempt is
    // rolled back (JudgedAgain): after refusals, the next one plans without those plugins; when
    // the judgement itself failed (a lock it could not have while this transaction held it, a lost
    // connection), the next one judges here, first, as plan and status do.
    void settle(ParallelJudge& parallel, MigrateOutcome& outcome) {
        if (!parallel.running()) return;
        const auto waiting = Clock::now();
        auto verdict = parallel.finish();
        log_.info("the server judged the declared SQL on a second connection in {:.1f} ms ({:.1f} ms of it waited for)",
                  verdict.ms, ms_since(waiting));
        if (!verdict.rejections) {
            log_.info("judging the declared SQL on a second connection failed ({}); judging it again first", verdict.error);
            judgement_ = Judgement::first;
            throw JudgedAgain("the parallel judgement failed");
        }
        if (verdict.rejections->empty()) {
            judgement_ = Judgement::done;
            return;
        }
        apply_refusals(refuse_rejected(set_, std::move(*verdict.rejections), log_, options_.strict), outcome);
        throw JudgedAgain("the server refused some plugins' declared SQL");
    }

    // The privilege plinth lacked, with the statement and where the needed privileges are listed.
    std::string permission_report(const pg::Error& e) const {
        return "migration failed for want of a privilege; the database is unchanged. The privileges plinth needs, "
               "and the --journal-schema option for a role that may not create schemas, are listed in "
               "docs/deploying.md (\"Privileges\")\n  " + std::string(e.what());
    }

    // A plugin table named like one of the journal's, in a journal schema shared with plugins.
    void refuse_journal_names() const {
        std::string clashes;
        for (const auto& p : plugins_)
            for (const auto& t : p.tables)
                for (const char* name : kJournalTables)
                    if (t.schema == options_.journal_schema && t.name == name)
                        clashes += "\n  plugin \"" + p.name + "\", table " + t.qualified_name();
        if (!clashes.empty())
            throw MigrationError("migration refused before any statement ran: these tables have the names of plinth's "
                                 "journal tables in the journal schema \"" + options_.journal_schema +
                                 "\"; choose another --journal-schema" + clashes);
    }

    // Each statement's time in ms (see pg::PipelineResult), and whether it was timed on its own.
    struct Times {
        std::vector<double> ms;
        std::vector<bool> alone;
    };

    // The statements of the transaction, in order, through one pipeline: one round trip for all of
    // them, however many. A failing one is named with its plugin, table, SQL and SQLSTATE; the ones
    // after it did not run. A statement on a table this batch creates, empty and locked by no one
    // else, is fast and its time says little: such statements are timed together, their results
    // sent by the server in one packet at the end of their run instead of one each (thousands on a
    // cold start, each a packet to handle on the way: docs/BENCHMARKS.md, tenth round). The first
    // of a run carries the run's time. A run ends before any other statement and at a change of
    // plugin, so each plugin's total stays exact.
    Times execute(const std::vector<const plan::Operation*>& ops) {
        if (ops.empty()) return {};
        Times times;
        std::set<std::string> created;
        for (const auto* op : ops) {
            if (op->kind == plan::OperationKind::create_table) created.insert(op->table);
            times.alone.push_back(op->table.empty() || !created.count(op->table) || !op->locks.empty());
        }
        std::vector<pg::PipelineResult> results;
        try {
            pg::Pipeline pipeline(connection_);
            for (std::size_t i = 0; i < ops.size(); ++i) {
                const auto& op = *ops[i];
                log_.debug("{}: {}", op.summary, op.sql);
                const bool last_of_run =
                    i + 1 == ops.size() || times.alone[i + 1] || ops[i + 1]->plugin != op.plugin;
                // The extended protocol runs exactly one statement: declared SQL fragments can never
                // smuggle in a second one.
                pipeline.send(op.sql, {}, times.alone[i] || last_of_run);
            }
            results = pipeline.sync();
        } catch (const pg::PipelineError& e) {
            const auto& op = *ops.at(e.index());
            if (e.is_lock_failure()) {
                waiting_ = op;
                throw;
            }
            throw MigrationError("migration failed and was rolled back; the database is unchanged.\n  plugin \"" +
                                 op.plugin + "\"" + (op.table.empty() ? "" : ", table " + op.table) + ": " + op.summary +
                                 "\n  " + e.what() +
                                 (e.sqlstate() == "42501"
                                      ? "\n  the role lacks a privilege plinth needs: see docs/deploying.md (\"Privileges\")"
                                      : ""));
        }
        for (const auto& r : results) times.ms.push_back(std::chrono::duration<double, std::milli>(r.elapsed).count());
        return times;
    }

    void run_after_commit(const std::vector<plan::Operation>& ops, MigrateOutcome& outcome) {
        if (ops.empty()) return;
        std::size_t failures = 0;
        for (const auto& op : ops) {
            const auto t0 = Clock::now();
            AfterCommitRecord done{op.plugin, op.table, op.summary, op.sql, 0, {}};
            try {
                log_.info("{} (after the commit): started", op.summary);
                if (op.backfill) {
                    if (!Backfiller(*this, op).run()) {
                        ++failures;
                        done.error = "interrupted by a stop request; it resumes where it stopped on the next start";
                        outcome.after_commit_failures.push_back("plugin \"" + op.plugin + "\", table " + op.table +
                                                                ": " + op.summary + " " + done.error);
                        log_.warn("{}", outcome.after_commit_failures.back());
                        done.ms = ms_since(t0);
                        outcome.after_commit.push_back(std::move(done));
                        break;  // the steps after it need it done
                    }
                } else {
                    ProgressWatch watch(*this, op);
                    connection_.exec_params(op.sql, {});
                }
                ++outcome.statements_applied;
                log_.info("{} (after the commit): done in {:.1f} s", op.summary, ms_since(t0) / 1000);
            } catch (const pg::Error& e) {
                ++failures;
                done.error = e.what();
                outcome.after_commit_failures.push_back("plugin \"" + op.plugin + "\", table " + op.table + ": " +
                                                        op.summary + " failed; it is retried on the next start\n  " + e.what());
                log_.error("{}", outcome.after_commit_failures.back());
            }
            done.ms = ms_since(t0);
            outcome.after_commit.push_back(std::move(done));
        }
        // Its own statement, outside any transaction: what ran after the commit stays recorded
        // whether or not the rest succeeded.
        if (outcome.migration_id != 0)
            Journal(connection_, options_.journal_schema).record_after_commit(outcome.migration_id, outcome.after_commit);
        if (failures > 0) return;
        pg::Transaction tx(connection_);
        lock();
        Journal(connection_, options_.journal_schema).save_state(desired_, catalog_mark(), std::nullopt, plan_clean_);
        tx.commit();
    }

    // A backfill step after the commit (plan::Backfill): batches of primary keys, each UPDATE in a
    // short transaction of its own together with its record in plinth.backfills, so that a crash
    // or kill loses at most the batch in flight and the next start goes on after the last key
    // recorded. Statements that lock the table run under lock_timeout and are retried, so writers
    // never queue behind them for long. run() is false when a stop request ended it early.
    class Backfiller {
    public:
        Backfiller(Migration& m, const plan::Operation& op)
            : m_(m), op_(op), b_(*op.backfill), table_(model::qualified(b_.schema, b_.table)),
              column_(model::quote_ident(b_.column)), journal_(m.connection_, m.options_.journal_schema) {}

        bool run() {
            if (b_.step == plan::Backfill::Step::fill) {
                const auto progress = journal_.backfill(op_.table, b_.column);
                // A sweep under way means the fill was done and the check is in place: the next step goes on.
                if (progress && progress->expression == b_.expression && progress->phase == "sweep") return true;
                return batches("fill");
            }
            return not_null();
        }

    private:
        // CHECK NOT VALID guards new rows; rows written before it that the fill missed (appended
        // after its last key, or set back to NULL) are filled next; only when VALIDATE still finds one
        // does a sweep go over the whole table again.
        bool not_null() {
            const auto check = model::quote_ident(b_.check_name);
            const auto r = m_.connection_.exec_params(
                "SELECT convalidated FROM pg_catalog.pg_constraint WHERE conrelid = $1::regclass AND conname = $2",
                {table_, b_.check_name});
            if (r.rows() == 0)
                locked("ALTER TABLE " + table_ + " ADD CONSTRAINT " + check + " CHECK (" + column_ +
                       " IS NOT NULL) NOT VALID");
            if (r.rows() == 0 || r.text(0, 0) != "t") {
                const auto progress = journal_.backfill(op_.table, b_.column);
                const bool sweeping = progress && progress->expression == b_.expression && progress->phase == "sweep";
                if (!batches(sweeping ? "sweep" : "fill")) return false;
                try {
                    locked("ALTER TABLE " + table_ + " VALIDATE CONSTRAINT " + check);
                } catch (const pg::Error& e) {
                    if (e.sqlstate() != "23514" || sweeping) throw;
                    m_.log_.info("{} (after the commit): rows written during the backfill are still NULL; "
                                 "sweeping the whole table once more", op_.summary);
                    if (!batches("sweep", true)) return false;
                    locked("ALTER TABLE " + table_ + " VALIDATE CONSTRAINT " + check);
                }
            }
            // With the validated check, SET NOT NULL reads no row; the check goes in the same transaction.
            locked("ALTER TABLE " + table_ + " ALTER COLUMN " + column_ + " SET NOT NULL",
                   "ALTER TABLE " + table_ + " DROP CONSTRAINT " + check);
            journal_.finish_backfill(op_.table, b_.column);
            return true;
        }

        // Runs `sql` (then `then`, when given) in one transaction under lock_timeout; a lock not had in
        // time is retried with a growing pause, within the lock budget.
        void locked(const std::string& sql, const std::string& then = {}) {
            const auto deadline = Clock::now() + m_.options_.lock_budget;
            for (int attempt = 1;; ++attempt) {
                try {
                    pg::Transaction tx(m_.connection_);
                    set_lock_timeout();
                    m_.connection_.exec_params(sql, {});
                    if (!then.empty()) m_.connection_.exec_params(then, {});
                    tx.commit();
                    return;
                } catch (const pg::Error& e) {
                    if (!e.is_lock_failure() || Clock::now() >= deadline) throw;
                    const auto pause = std::chrono::milliseconds(std::min(2000, 50 << std::min(attempt, 5)));
                    m_.log_.warn("{} (after the commit): lock not available ({}); retrying in {} ms", op_.summary,
                                 e.message(), pause.count());
                    std::this_thread::sleep_for(pause);
                }
            }
        }

        void set_lock_timeout() {
            m_.connection_.exec("SET LOCAL lock_timeout = '" + std::to_string(m_.options_.lock_timeout.count()) + "ms'");
        }

        // One batch: the next keys after the last key ($n+1..$2n) in key order, up to the upper key
        // ($1..$n), the rows among them still NULL set. The expression stands in its own parentheses
        // in the one statement the extended protocol runs, and only the table being updated is in its
        // scope (the keys come through IN).
        std::string batch_sql(bool from_start) const {
            std::vector<std::string> keys, upper, after, texts, descending;
            const auto n = b_.key.size();
            for (std::size_t i = 0; i < n; ++i) {
                const auto k = model::quote_ident(b_.key[i].first);
                keys.push_back(k);
                upper.push_back("$" + std::to_string(i + 1) + "::" + b_.key[i].second);
                after.push_back("$" + std::to_string(n + i + 1) + "::" + b_.key[i].second);
                texts.push_back(k + "::text");
                descending.push_back(k + " DESC");
            }
            const auto list = model::join(keys, ", ");
            return "WITH batch AS (SELECT " + list + " FROM " + table_ + " WHERE (" + list + ") <= (" +
                   model::join(upper, ", ") + ")" +
                   (from_start ? std::string() : " AND (" + list + ") > (" + model::join(after, ", ") + ")") +
                   " ORDER BY " + list + " LIMIT " + std::to_string(m_.options_.backfill_batch_rows) +
                   "), filled AS (UPDATE " + table_ + " SET " + column_ + " = (" + b_.expression + ") WHERE (" + list +
                   ") IN (SELECT " + list + " FROM batch) AND " + column_ + " IS NULL RETURNING 1) "
                   "SELECT (SELECT count(*) FROM batch), (SELECT count(*) FROM filled), "
                   "(SELECT json_build_array(" + model::join(texts, ", ") + ")::text FROM batch ORDER BY " +
                   model::join(descending, ", ") + " LIMIT 1)";
        }

        // The table's last key now, as text, or nullopt when it has no rows. The batches stop there:
        // rows a writer appends meanwhile are not chased (a busy writer would never let the fill end);
        // the next phase, with the check in place, takes them.
        std::optional<std::vector<std::string>> last_key_now() const {
            std::vector<std::string> keys, texts, descending;
            for (const auto& [name, type] : b_.key) {
                const auto k = model::quote_ident(name);
                texts.push_back(k + "::text");
                descending.push_back(k + " DESC");
            }
            const auto r = m_.connection_.exec("SELECT json_build_array(" + model::join(texts, ", ") + ")::text FROM " +
                                               table_ + " ORDER BY " + model::join(descending, ", ") + " LIMIT 1");
            if (r.rows() == 0) return std::nullopt;
            return nlohmann::json::parse(r.text(0, 0)).get<std::vector<std::string>>();
        }

        // Batches from where the journal says `phase` stopped (or from the first key when it records
        // another phase or expression, or `restart`) to the last key. False when a stop request came.
        bool batches(const std::string& phase, bool restart = false) {
            auto progress = journal_.backfill(op_.table, b_.column);
            if (restart || !progress || progress->expression != b_.expression || progress->phase != phase) {
                const auto total =
                    std::stoll(m_.connection_.exec("SELECT count(*) FROM " + table_).text(0, 0));
                journal_.start_backfill(op_.plugin, op_.table, b_.column, b_.expression, phase, total);
                progress = journal_.backfill(op_.table, b_.column);
            } else if (progress->last_key) {
                m_.log_.info("{} (after the commit): resuming the {} after key ({}), {} rows done in {} batches",
                             op_.summary, phase, model::join(*progress->last_key, ", "), progress->rows_done,
                             progress->batches);
            }
            auto last_key = progress->last_key;
            auto done = progress->rows_done;
            const auto total = progress->rows_total;
            auto next_report = Clock::now() + m_.options_.progress_interval;
            const auto upper = last_key_now();
            for (;;) {
                if (m_.options_.should_stop && m_.options_.should_stop()) return false;
                if (!upper) break;
                std::vector<std::optional<std::string>> params(upper->begin(), upper->end());
                if (last_key)
                    for (const auto& k : *last_key) params.emplace_back(k);
                std::int64_t rows = 0;
                for (int attempt = 1;; ++attempt) {
                    try {
                        pg::Transaction tx(m_.connection_);
                        set_lock_timeout();
                        const auto r = m_.connection_.exec_params(batch_sql(!last_key), params);
                        rows = std::stoll(r.text(0, 0));
                        if (rows > 0) {
                            last_key = nlohmann::json::parse(r.text(0, 2)).get<std::vector<std::string>>();
                            journal_.record_batch(op_.table, b_.column, *last_key, rows, std::stoll(r.text(0, 1)));
                        }
                        tx.commit();
                        break;
                    } catch (const pg::Error& e) {
                        // A writer holding one of the batch's rows: the batch is tried again after a pause.
                        if (!e.is_lock_failure() || attempt >= 50) throw;
                        std::this_thread::sleep_for(m_.options_.backfill_pause + std::chrono::milliseconds(10 * attempt));
                    }
                }
                if (rows == 0) break;
                done += rows;
                if (Clock::now() >= next_report) {
                    m_.log_.info("{} (after the commit): {}: {} rows done, {} remaining", op_.summary, phase, done,
                                 std::max<std::int64_t>(0, total - done));
                    next_report = Clock::now() + m_.options_.progress_interval;
                }
                std::this_thread::sleep_for(m_.options_.backfill_pause);
            }
            m_.log_.info("{} (after the commit): {} finished: {} rows done, 0 remaining", op_.summary, phase, done);
            return true;
        }

        Migration& m_;
        const plan::Operation& op_;
        const plan::Backfill& b_;
        std::string table_;   // "schema"."table"
        std::string column_;  // "column"
        Journal journal_;
    };

    // Logs an index build's progress from a thread with its own connection while the build runs
    // on connection_; stops (and joins) when destroyed. Its failures only cost the progress lines.
    class ProgressWatch {
    public:
        ProgressWatch(Migration& m, const plan::Operation& op) {
            if (!m.options_.reconnect || op.sql.find("INDEX") == std::string::npos) return;
            const std::string pid = m.connection_.exec("SELECT pg_backend_pid()").text(0, 0);
            thread_ = std::thread([this, &m, op, pid] { watch(m, op, pid); });
        }
        ~ProgressWatch() {
            if (!thread_.joinable()) return;
            {
                std::lock_guard lock(mutex_);
                done_ = true;
            }
            wake_.notify_all();
            thread_.join();
        }
        ProgressWatch(const ProgressWatch&) = delete;
        ProgressWatch& operator=(const ProgressWatch&) = delete;

    private:
        void watch(Migration& m, const plan::Operation& op, const std::string& pid) {
            try {
                auto connection = m.options_.reconnect();
                for (;;) {
                    {
                        std::unique_lock lock(mutex_);
                        if (wake_.wait_for(lock, m.options_.progress_interval, [this] { return done_; })) return;
                    }
                    const auto r = connection.exec_params(
                        "SELECT phase, blocks_done, blocks_total, tuples_done, tuples_total "
                        "FROM pg_catalog.pg_stat_progress_create_index WHERE pid = $1",
                        {pid});
                    if (r.rows() == 0) continue;
                    const auto blocks_total = std::stoll(r.text(0, 2));
                    const auto tuples_total = std::stoll(r.text(0, 4));
                    std::string amount;
                    if (blocks_total > 0)
                        amount = ", " + std::to_string(std::stoll(r.text(0, 1)) * 100 / blocks_total) + "% of " +
                                 std::to_string(blocks_total) + " blocks";
                    else if (tuples_total > 0)
                        amount = ", " + std::to_string(std::stoll(r.text(0, 3)) * 100 / tuples_total) + "% of " +
                                 std::to_string(tuples_total) + " rows";
                    m.log_.info("{} (after the commit): {}{}", op.summary, r.text(0, 0), amount);
                }
            } catch (const std::exception& e) {
                m.log_.debug("{}: no progress reports ({})", op.summary, e.what());
            }
        }

        std::thread thread_;
        std::mutex mutex_;
        std::condition_variable wake_;
        bool done_ = false;
    };

    pg::Connection& connection_;
    pipeline::PluginSet& set_;
    const MigrateOptions& options_;
    spdlog::logger& log_;
    const std::vector<model::Plugin>& plugins_;
    std::vector<std::string> schemas_;
    std::string desired_;
    std::optional<std::string> schemas_param_;
    std::string transaction_id_;
    std::int64_t recorded_id_ = 0;  // the journal's id of the migration being committed; 0: none recorded
    std::optional<plan::Operation> waiting_;  // the statement of this attempt that failed on a lock
    std::shared_ptr<UpgradeRunner> upgrades_;  // made when the first step is due
    // The plugins key to record: only for a set loaded, validated and judged without a complaint,
    // whose next start would have nothing to report.
    std::optional<std::string> memo_;
    bool plan_clean_ = false;  // the plan had nothing plinth leaves alone and no notes (Journal::save_state)
    // parallel: judge on a second connection while the statements run (the first attempt);
    // first: judge before planning (after the parallel judgement failed); done: judged, nothing to
    // do again in a later attempt.
    enum class Judgement { parallel, first, done };
    Judgement judgement_ = Judgement::parallel;
};

// A table no plugin declares any more is named with the plugin that created it, from the journal.
void name_creators(pg::Connection& connection, plan::Plan& plan, const std::string& journal_schema) {
    std::vector<std::string> undeclared;
    for (const auto& nd : plan.not_done)
        if (nd.plugin.empty() && nd.object.empty()) undeclared.push_back(nd.table);
    if (undeclared.empty()) return;
    Journal journal(connection, journal_schema);
    if (!journal.exists()) return;
    const auto creators = journal.table_creators(undeclared);
    for (auto& nd : plan.not_done) {
        if (!nd.plugin.empty() || !nd.object.empty()) continue;
        if (auto it = creators.find(nd.table); it != creators.end())
            nd.reason = "not declared by any plugin; created by " + it->second + "; left alone";
    }
}

// The upgrade steps a migration would run now: plugins with one whose version differs from the
// journal's record, in initialisation order (as run_upgrades runs them).
void add_upgrades_due(pg::Connection& connection, const pipeline::PluginSet& set, plan::Plan& plan,
                      const std::string& journal_schema) {
    const auto& plugins = set.validation.plugins;
    if (std::none_of(plugins.begin(), plugins.end(), [](const model::Plugin& p) { return p.lifecycle.upgrade != nullptr; }))
        return;
    Journal journal(connection, journal_schema);
    if (!journal.exists()) return;
    const auto previous = journal.latest_per_plugin();
    for (const auto index : set.ordering.plugins) {
        const auto& p = plugins.at(index);
        const auto last = previous.find(p.name);
        if (p.lifecycle.upgrade && last != previous.end() && last->second.version != p.version)
            plan.upgrades.push_back({p.name, last->second.version, p.version});
    }
}

}  // namespace

std::string commit_status(pg::Connection& connection, const std::string& transaction_id) {
    const auto r = connection.exec_params("SELECT pg_xact_status($1::xid8)", {transaction_id});
    return r.is_null(0, 0) ? std::string() : r.text(0, 0);
}

Refusals judge_declared_sql(pg::Connection& connection, pipeline::PluginSet& set, spdlog::logger& log, bool strict) {
    return refuse_rejected(set, introspect::judge_declared_sql(connection, set.validation.plugins), log, strict);
}

Refusals refuse_rejected(pipeline::PluginSet& set, std::vector<introspect::Rejection> rejections, spdlog::logger& log,
                         bool strict) {
    const auto& plugins = set.validation.plugins;
    std::vector<validate::Problem> problems;
    for (auto& r : rejections) {
        const auto& p = plugins.at(r.plugin);
        problems.push_back({p.file, p.name, r.table, r.item, r.message, r.location});
    }
    Refusals refusals;
    refusals.problems = problems;
    refusals.skipped = pipeline::refuse(set, std::move(problems));
    const auto level = strict ? spdlog::level::err : spdlog::level::warn;
    for (const auto& p : refusals.problems) log.log(level, "{}", p.text());
    for (const auto& s : refusals.skipped) log.log(level, "{}", s.text());
    return refusals;
}

std::optional<std::string> read_only_reason(pg::Connection& connection) {
    const auto r = connection.exec("SELECT pg_catalog.pg_is_in_recovery(), current_setting('transaction_read_only')");
    return read_only_message(connection, r.text(0, 0) == "t", r.text(0, 1) == "on");
}

namespace {

std::optional<std::string> read_only_message(const pg::Connection& connection, bool in_recovery, bool read_only) {
    const std::string how =
        "; plinth migrates only on the primary. Connect to the primary: name every server of the cluster and "
        "let libpq pick the writable one, e.g. postgresql://host-a,host-b/db?target_session_attrs=read-write "
        "(or host=host-a,host-b dbname=db target_session_attrs=read-write); see docs/deploying.md";
    if (in_recovery)
        return "refused before anything: the server " + connection.redacted_conninfo() +
               " is a standby (in recovery, read-only)" + how;
    if (read_only)
        return "refused before anything: the session on " + connection.redacted_conninfo() +
               " is read-only (default_transaction_read_only is on)" + how;
    return std::nullopt;
}

}  // namespace

plan::Plan current_plan(pg::Connection& connection, const pipeline::PluginSet& set, const plan::PlanOptions& options,
                        const std::string& journal_schema) {
    const auto& plugins = set.validation.plugins;
    const auto actual =
        introspect::read_catalog(connection, plan::owned_schemas(plugins), journal_relations(journal_schema));
    std::map<std::string, std::string> skipped_tables;
    for (const auto& skip : set.validation.skipped)
        for (const auto& table : skip.tables) skipped_tables.emplace(table, skip.plugin);
    auto plan =
        plan::make_plan(plugins, set.ordering, actual, introspect::database_probe(connection), skipped_tables, options);
    name_creators(connection, plan, journal_schema);
    add_upgrades_due(connection, set, plan, journal_schema);
    return plan;
}

plan::Plan current_plan(pg::Connection& connection, const pipeline::PluginSet& set,
                        std::chrono::milliseconds lock_timeout, const plan::PlanOptions& options,
                        const std::string& journal_schema) {
    connection.exec("SET lock_timeout = '" + std::to_string(lock_timeout.count()) + "ms'");
    try {
        return current_plan(connection, set, options, journal_schema);
    } catch (const pg::Error& e) {
        if (!e.is_lock_failure()) throw;
        throw MigrationError("reading the catalog waited longer than the lock timeout (" +
                             std::to_string(lock_timeout.count()) + " ms) for a table lock\n  " + e.what() +
                             lock_holders_report(connection, nullptr, plan::owned_schemas(set.validation.plugins)));
    }
}

MigrateOutcome migrate(pg::Connection& connection, pipeline::PluginSet& set, const MigrateOptions& options,
                       spdlog::logger& log) {
    return Migration(connection, set, options, log).run();
}

bool full_fingerprint_due(const MigrateOptions& options) {
    const int every = options.full_fingerprint_every;
    if (every <= 1) return every == 1;
    std::minstd_rand random{std::random_device{}()};
    return std::uniform_int_distribution<int>(1, every)(random) == 1;
}

std::optional<RecordedKey> trusted_plugins_key(pg::Connection& connection, const MigrateOptions& options, KeyUse use) {
    if (options.full_fingerprint_every == 1) return std::nullopt;
    Journal journal(connection, options.journal_schema);
    try {
        const auto row = journal.recorded_key();
        if (!row) return std::nullopt;
        if (use == KeyUse::migrate)
            if (auto why = read_only_message(connection, row->in_recovery, row->read_only)) throw MigrationError(*why);
        if (!row->plugins_key || !row->epoch_holds) return std::nullopt;
        return RecordedKey{*row->plugins_key, row->plan_clean};
    } catch (const pg::Error&) {
        // No journal, or one from before the plugins key: the loaded path completes it. Any other
        // failure (a privilege, say) is the loaded path's to report, with its context.
        return std::nullopt;
    }
}

bool same_plugins_key(const RecordedKey& recorded, const std::string& plugins_key, const MigrateOptions& options) {
    return recorded.key == memo_key(plugins_key, options.plan);
}

}  // namespace plinth::apply
