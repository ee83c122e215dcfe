#include <cmath>
#include <iostream>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "apply/journal.hpp"
#include "apply/migrate.hpp"
#include "cli/commands.hpp"
#include "cli/journal_json.hpp"
#include "host/config.hpp"
#include "plan/plan.hpp"

namespace plinth::cli {
namespace {

// Logs the plugins' issues; with --strict, any refused, invalid or skipped plugin ends the command.
pipeline::PluginSet prepared(pipeline::PluginSet set, const DatabaseCommandOptions& o) {
    pipeline::log_plugin_issues(set, o.plugins.strict);
    if (o.plugins.strict && !set.all_valid())
        throw std::runtime_error("--strict: some plugins were refused, invalid or skipped (see above)");
    return set;
}

// Loads the plugins (see prepared).
pipeline::PluginSet prepare(const DatabaseCommandOptions& o) { return prepared(load_plugin_set(o.plugins), o); }

nlohmann::json plan_json(const plan::Plan& p) {
    using nlohmann::json;
    json out;
    out["up_to_date"] = !p.has_operations();
    out["blocked"] = p.blocked();
    out["operations"] = json::array();
    for (const auto& op : p.operations)
        out["operations"].push_back({{"plugin", op.plugin}, {"table", op.table}, {"summary", op.summary}, {"sql", op.sql},
                                     {"hazards", op.hazard_texts()},
                                     {"phase", op.phase == plan::Phase::transaction ? "transaction" : "after_commit"}});
    out["not_done"] = json::array();
    for (const auto& nd : p.not_done)
        out["not_done"].push_back({{"plugin", nd.plugin}, {"table", nd.table}, {"object", nd.object},
                                   {"reason", nd.reason}, {"manual_sql", nd.manual_sql}, {"blocking", nd.blocking}});
    out["notes"] = p.notes;
    // Only when some are due, so that the output of plans without them is unchanged.
    if (!p.upgrades.empty()) {
        out["upgrade_steps"] = json::array();
        for (const auto& u : p.upgrades)
            out["upgrade_steps"].push_back({{"plugin", u.plugin}, {"from_version", u.from_version}, {"to_version", u.to_version}});
    }
    return out;
}

// "up_to_date" (nothing to do), "applied", or "after_commit_failed" (the transaction committed, some
// work after it failed and is retried on the next start); a refusal or failure is "failed".
nlohmann::json migrate_json(const apply::MigrateOutcome& outcome) {
    using nlohmann::json;
    json statements = json::array(), after = json::array();
    for (const auto& st : outcome.statements)
        statements.push_back({{"plugin", st.plugin}, {"table", st.table}, {"summary", st.summary}, {"sql", st.sql},
                              {"ms", st.ms ? json(*st.ms) : json()}});
    for (const auto& w : outcome.after_commit) after.push_back(after_commit_json(w));
    json refused = json::array();
    for (const auto& problem : outcome.refused.problems) refused.push_back(problem.text());
    for (const auto& skip : outcome.refused.skipped) refused.push_back(skip.text());
    const char* result = !outcome.after_commit_failures.empty() ? "after_commit_failed"
                         : outcome.statements.empty() && outcome.after_commit.empty() && outcome.upgrades.empty()
                             ? "up_to_date"
                             : "applied";
    json out = {{"outcome", result},
            {"fast_path", outcome.up_to_date_fast},
            {"migration_id", outcome.migration_id == 0 ? json() : json(outcome.migration_id)},
            {"statements", statements},
            {"after_commit", after},
            {"warnings", outcome.warnings},
            {"notes", outcome.notes},
            {"refused", refused}};
    // Only when some ran, so that the output of migrations without them is unchanged.
    if (!outcome.upgrades.empty()) {
        out["upgrade_steps"] = json::array();
        for (const auto& u : outcome.upgrades)
            out["upgrade_steps"].push_back({{"plugin", u.plugin}, {"from_version", u.from_version}, {"to_version", u.to_version}});
    }
    return out;
}

plan::PlanOptions plan_options(const DatabaseCommandOptions& o) {
    return {{o.allow_hazards.begin(), o.allow_hazards.end()}};
}

// What reading the journal's plugins key needs: the plan options and the journal's schema; no full
// check (see plan for where one is drawn).
apply::MigrateOptions key_options(const DatabaseCommandOptions& o) {
    apply::MigrateOptions options;
    options.plan = plan_options(o);
    options.journal_schema = o.database.journal_schema;
    options.full_fingerprint_every = 0;
    return options;
}

// The same, with the full check of --full-check-every drawn (plan, status, and migrate, which adds
// the rest of its options).
apply::MigrateOptions drawn_key_options(const DatabaseCommandOptions& o) {
    auto options = key_options(o);
    options.full_fingerprint_every = o.full_check_every;
    options.full_fingerprint_every = apply::full_fingerprint_due(options) ? 1 : 0;
    return options;
}

// Whether the plan of the database is empty without reading the catalog: the journal's trusted key
// is `key` (these plugins'), and the migration that recorded it left nothing aside
// (docs/ARCHITECTURE.md, "The plugins key"). Logs it, at debug level in text format, where the
// logs share stdout with the output, which must not depend on the path taken.
bool nothing_to_show(const std::optional<apply::RecordedKey>& recorded, const std::optional<std::string>& key,
                     const apply::MigrateOptions& options, const DatabaseCommandOptions& o, const char* what) {
    if (!recorded || !recorded->plan_clean || !key || !apply::same_plugins_key(*recorded, *key, options)) return false;
    spdlog::log(o.format == "text" ? spdlog::level::debug : spdlog::level::info,
                "schema up to date (plugins and DDL epoch unchanged); {}", what);
    return true;
}

// The server judges the declared SQL (logged as it is found); with --strict a refused plugin ends
// the command. Not when the journal records these very plugins (`recorded`, their plugins key) for
// the last clean migration and the DDL epoch holds since: the server accepted all their SQL then,
// and nothing it judges by has changed.
apply::Refusals judge(pg::Connection& connection, pipeline::PluginSet& set, const DatabaseCommandOptions& o,
                      const std::optional<apply::RecordedKey>& recorded) {
    if (set.all_valid() && set.plugins_key && recorded &&
        apply::same_plugins_key(*recorded, *set.plugins_key, key_options(o)))
        return {};
    // Bounded like the catalog reads that follow: a type naming a locked table must not hang it.
    connection.exec("SET lock_timeout = '" + std::to_string(std::llround(o.lock_timeout_s * 1000)) + "ms'");
    auto refused = apply::judge_declared_sql(connection, set, *spdlog::default_logger(), o.plugins.strict);
    if (o.plugins.strict && !refused.empty())
        throw std::runtime_error("--strict: the server rejected declared SQL of some plugins (see above)");
    return refused;
}

// ": fill, 2000 of 5000 rows done" for a backfill the journal has a record of, else empty.
std::string backfill_progress(apply::Journal& journal, bool has_journal, const plan::Operation& op) {
    if (!has_journal || !op.backfill || op.backfill->step != plan::Backfill::Step::fill) return {};
    const auto progress = journal.backfill(op.table, op.backfill->column);
    if (!progress || progress->expression != op.backfill->expression || progress->phase == "done") return {};
    return ": " + progress->phase + ", " + std::to_string(progress->rows_done) + " of " +
           std::to_string(progress->rows_total) + " rows done";
}

// The documented exit codes of plan and status: 1 blocked, 2 work pending, 3 in sync as far as
// plinth goes but the database differs in ways it leaves alone, 0 in sync.
int plan_exit_code(const plan::Plan& p) {
    if (p.blocked()) return 1;
    if (p.has_operations()) return 2;
    return p.not_done.empty() ? 0 : 3;
}

// The opening plan and migrate share: the load probe forked first, so that it runs while plinth
// connects, then the connection; the probe runs on until probe_run.finish(). (Begun the other way
// round, with the start-up packet sent before the fork, the server's new backend and the probe
// shared the two cores and a no-op start at 1,000 tables gained nothing.)
struct ProbedStart {
    explicit ProbedStart(const DatabaseCommandOptions& o)
        : folders(plugin_folders(o.plugins)),
          files(pipeline::plugin_files(folders)),
          probe_run(files, pipeline::ProbeOptions{.enabled = o.plugins.load_probe}),
          session(database::DatabaseSession::open(o.database, *spdlog::default_logger())),
          connection(session.connect()) {}

    // Once the recorded key is read and this start may well end on it: hang up at once, so that
    // the server's backend ends while the probe's child still runs, on the core plinth leaves idle,
    // not beside plinth's own exit (docs/BENCHMARKS.md, eighth round). connected() connects again
    // if the plugins turn out to differ.
    void hang_up() { pg::Connection closing = std::move(connection); }
    pg::Connection& connected() {
        if (!connection.native()) connection = session.connect();
        return connection;
    }

    std::vector<std::filesystem::path> folders;
    std::vector<std::filesystem::path> files;
    pipeline::ProbeRun probe_run;  // members are made in this order
    database::DatabaseSession session;
    pg::Connection connection;
};

}  // namespace

int plan(const DatabaseCommandOptions& o) {
    // As in migrate, the load probe runs while plinth connects and reads the journal's plugins key.
    // When the key is these plugins' and the migration that recorded it planned nothing to leave
    // alone and no notes, the plan is empty (as migrate's no-op start has nothing to do), and
    // nothing is loaded, judged or introspected: one query. About one plan in --full-check-every
    // reads the whole catalog regardless.
    ProbedStart start(o);
    const auto options = drawn_key_options(o);
    // Read without the load probe too: the judgement may be skipped with plugins loaded here.
    const auto recorded = apply::trusted_plugins_key(start.connection, options, apply::KeyUse::read);
    if (recorded && recorded->plan_clean) start.hang_up();
    const auto probed = start.probe_run.finish();
    plan::Plan p;
    apply::Refusals refused;
    if (!nothing_to_show(recorded, pipeline::plugins_key(start.files, probed.digests), options, o,
                         "nothing loaded or introspected")) {
        auto& connection = start.connected();
        auto set = prepared(pipeline::load_plugin_set(start.folders, probed), o);
        refused = judge(connection, set, o, recorded);
        p = apply::current_plan(connection, set, std::chrono::milliseconds(std::llround(o.lock_timeout_s * 1000)),
                                plan_options(o), o.database.journal_schema);
    }
    if (o.format == "json") {
        auto out = plan_json(p);
        if (!refused.empty()) {
            out["refused"] = nlohmann::json::array();
            for (const auto& problem : refused.problems) out["refused"].push_back(problem.text());
            for (const auto& skip : refused.skipped) out["refused"].push_back(skip.text());
        }
        std::cout << out.dump(2) << "\n";
    } else if (o.format == "sql") {
        if (p.blocked()) {
            // No script that cannot run: the reasons go where the logs go, as in migrate.
            spdlog::error("no script: migrate would refuse this plan\n{}", p.text());
            return 1;
        }
        std::cout << p.sql_script();
    } else {
        std::cout << p.text();
        if (!refused.empty()) {
            std::cout << "\nrefused by the server's judgement of their SQL:\n";
            for (const auto& problem : refused.problems) std::cout << "- " << problem.text() << "\n";
            for (const auto& skip : refused.skipped) std::cout << "- " << skip.text() << "\n";
        }
    }
    return plan_exit_code(p);
}

int migrate(const DatabaseCommandOptions& o) {
    // The load probe runs while plinth connects and reads the journal's plugins key (ProbedStart).
    // The probe's digests make this start's key: the same one lets a no-op start end before plinth
    // loads any plugin itself (apply::trusted_plugins_key).
    ProbedStart start(o);
    auto& session = start.session;
    // The full check drawn once here, so that the plugins-key query and the migration agree on it.
    auto options = drawn_key_options(o);
    options.lock_timeout = std::chrono::milliseconds(std::llround(o.lock_timeout_s * 1000));
    options.lock_budget = std::chrono::milliseconds(std::llround(o.lock_budget_s * 1000));
    options.reconnect = [&session] { return session.connect(); };
    options.strict = o.plugins.strict;
    options.backfill_batch_rows = o.backfill_batch_rows;
    options.backfill_pause = std::chrono::milliseconds(std::llround(o.backfill_pause_s * 1000));
    // No configuration file here: an upgrade step's config_get sees PLINTH_<PLUGIN>_<KEY> only.
    const apply::ConfigLookup lookup = [](const std::string& plugin, const std::string& key) {
        const auto values = hosting::Config().for_plugin(plugin);
        const auto* value = values.get(key);
        return value ? std::optional<std::string>(*value) : std::nullopt;
    };
    options.upgrades = o.upgrade_in_process
                           ? apply::in_process_upgrades(lookup)
                           : apply::forked_upgrades(lookup, std::chrono::milliseconds(std::llround(o.upgrade_timeout_s * 1000)));
    try {
        const auto recorded = o.plugins.load_probe
                                  ? apply::trusted_plugins_key(start.connection, options, apply::KeyUse::migrate)
                                  : std::nullopt;
        if (recorded) start.hang_up();
        const auto probed = start.probe_run.finish();
        const auto key = pipeline::plugins_key(start.files, probed.digests);
        apply::MigrateOutcome outcome;
        if (recorded && key && apply::same_plugins_key(*recorded, *key, options)) {
            spdlog::info("schema up to date (plugins and DDL epoch unchanged); nothing loaded or introspected");
            outcome.up_to_date_fast = true;
            outcome.fast_path_detector = "ddl epoch";
        } else {
            auto set = prepared(pipeline::load_plugin_set(start.folders, probed), o);
            outcome = apply::migrate(start.connected(), set, options, *spdlog::default_logger());
        }
        if (!outcome.up_to_date_fast && outcome.statements_applied == 0 && outcome.upgrades.empty())
            spdlog::info("schema up to date; nothing applied");
        if (o.format == "json") std::cout << migrate_json(outcome).dump(2) << "\n";
        return outcome.after_commit_failures.empty() ? 0 : 1;
    } catch (const apply::MigrationError& e) {
        spdlog::error("{}", e.what());
        if (o.format == "json")
            std::cout << nlohmann::json{{"outcome", "failed"}, {"error", e.what()}}.dump(2) << "\n";
        return 1;
    }
}

int status(const DatabaseCommandOptions& o) {
    // It prints each plugin's records, so it loads them; with the plugins key, as plan, it may know
    // the drift is none without reading the catalog.
    pipeline::PluginSet set = prepare(o);
    auto session = database::DatabaseSession::open(o.database, *spdlog::default_logger());
    auto connection = session.connect();
    const auto options = drawn_key_options(o);
    const auto recorded = apply::trusted_plugins_key(connection, options, apply::KeyUse::read);
    const bool known_empty = set.all_valid() && nothing_to_show(recorded, set.plugins_key, options, o, "nothing introspected");
    if (!known_empty) judge(connection, set, o, recorded);
    apply::Journal journal(connection, o.database.journal_schema);
    const bool has_journal = journal.exists();
    const auto applied = has_journal ? journal.latest_per_plugin() : std::map<std::string, apply::PluginRecord>{};
    const auto p = known_empty ? plan::Plan{}
                               : apply::current_plan(connection, set,
                                                     std::chrono::milliseconds(std::llround(o.lock_timeout_s * 1000)),
                                                     plan_options(o), o.database.journal_schema);

    nlohmann::json out;
    out["plugins"] = nlohmann::json::array();
    for (std::size_t index : set.ordering.plugins) {
        const auto& plugin = set.validation.plugins[index];
        nlohmann::json entry{{"name", plugin.name}, {"version", plugin.version}, {"schema", plugin.schema},
                             {"schema_hash", plan::schema_hash(plugin)}};
        if (auto it = applied.find(plugin.name); it != applied.end())
            entry["last_applied"] = {{"version", it->second.version}, {"schema_hash", it->second.schema_hash},
                                     {"at", it->second.applied_at}, {"migration", it->second.migration_id}};
        else
            entry["last_applied"] = nullptr;
        nlohmann::json drift = nlohmann::json::array();
        for (const auto& op : p.operations)
            if (op.plugin == plugin.name) drift.push_back("pending: " + op.summary + backfill_progress(journal, has_journal, op));
        for (const auto& nd : p.not_done)
            if (nd.plugin == plugin.name) drift.push_back(plan::render_not_done(nd, plan::NotDoneStyle::drift));
        entry["drift"] = drift;
        out["plugins"].push_back(entry);
    }
    out["up_to_date"] = !p.has_operations();
    if (o.format == "json") {
        std::cout << out.dump(2) << "\n";
    } else {
        for (const auto& e : out["plugins"]) {
            std::cout << e["name"].get<std::string>() << " " << e["version"].get<std::string>() << " (schema "
                      << e["schema"].get<std::string>() << ", hash " << e["schema_hash"].get<std::string>() << ")\n";
            if (e["last_applied"].is_null())
                std::cout << "  never applied\n";
            else
                std::cout << "  last applied " << e["last_applied"]["at"].get<std::string>() << " as version "
                          << e["last_applied"]["version"].get<std::string>() << " (hash "
                          << e["last_applied"]["schema_hash"].get<std::string>() << ")\n";
            if (e["drift"].empty()) std::cout << "  no drift\n";
            for (const auto& d : e["drift"]) std::cout << "  drift: " << d.get<std::string>() << "\n";
        }
        std::cout << (p.has_operations()      ? "changes are pending: run plinth migrate\n"
                      : !p.not_done.empty() ? plan::differences_headline(p.not_done.size()) + "\n"
                                            : "the database is up to date\n");
    }
    return plan_exit_code(p);
}

}  // namespace plinth::cli
