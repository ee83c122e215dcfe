#include <cmath>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "apply/journal.hpp"
#include "apply/migrate.hpp"
#include "cli/commands.hpp"
#include "plan/plan.hpp"

namespace plinth::cli {
namespace {

// Loads the plugins; with --strict, any refused, invalid or skipped plugin ends the command.
pipeline::PluginSet prepare(const DatabaseCommandOptions& o) {
    pipeline::PluginSet set = load_plugin_set(o.plugins);
    pipeline::log_plugin_issues(set, o.plugins.strict);
    if (o.plugins.strict && !set.all_valid())
        throw std::runtime_error("--strict: some plugins were refused, invalid or skipped (see above)");
    return set;
}

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
    return out;
}

// "up_to_date" (nothing to do), "applied", or "after_commit_failed" (the transaction committed, some
// work after it failed and is retried on the next start); a refusal or failure is "failed".
nlohmann::json migrate_json(const apply::MigrateOutcome& outcome) {
    using nlohmann::json;
    json statements = json::array(), after = json::array();
    for (const auto& st : outcome.statements) {
        json entry{{"plugin", st.plugin}, {"table", st.table}, {"summary", st.summary}, {"sql", st.sql}, {"ms", st.ms}};
        if (!st.after_commit) {
            statements.push_back(entry);
            continue;
        }
        entry["outcome"] = st.error.empty() ? "done" : "failed";
        entry["error"] = st.error.empty() ? json() : json(st.error);
        after.push_back(entry);
    }
    const char* result = !outcome.after_commit_failures.empty() ? "after_commit_failed"
                         : outcome.statements.empty()           ? "up_to_date"
                                                                : "applied";
    return {{"outcome", result},
            {"fast_path", outcome.up_to_date_fast},
            {"migration_id", outcome.migration_id == 0 ? json() : json(outcome.migration_id)},
            {"statements", statements},
            {"after_commit", after},
            {"warnings", outcome.warnings},
            {"notes", outcome.notes}};
}

}  // namespace

int plan(const DatabaseCommandOptions& o) {
    const pipeline::PluginSet set = prepare(o);
    auto session = database::DatabaseSession::open(o.database, *spdlog::default_logger());
    auto connection = session.connect();
    const auto p = apply::current_plan(connection, set, std::chrono::milliseconds(std::llround(o.lock_timeout_s * 1000)));
    if (o.format == "json") {
        std::cout << plan_json(p).dump(2) << "\n";
    } else if (o.format == "sql") {
        if (p.blocked()) {
            // No script that cannot run: the reasons go where the logs go, as in migrate.
            spdlog::error("no script: migrate would refuse this plan\n{}", p.text());
            return 1;
        }
        std::cout << p.sql_script();
    } else {
        std::cout << p.text();
    }
    return p.blocked() ? 1 : p.has_operations() ? 2 : 0;
}

int migrate(const DatabaseCommandOptions& o) {
    const pipeline::PluginSet set = prepare(o);
    auto session = database::DatabaseSession::open(o.database, *spdlog::default_logger());
    auto connection = session.connect();
    apply::MigrateOptions options;
    options.lock_timeout = std::chrono::milliseconds(std::llround(o.lock_timeout_s * 1000));
    options.lock_budget = std::chrono::milliseconds(std::llround(o.lock_budget_s * 1000));
    options.reconnect = [&session] { return session.connect(); };
    try {
        const auto outcome = apply::migrate(connection, set, options, *spdlog::default_logger());
        if (!outcome.up_to_date_fast && outcome.statements_applied == 0)
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
    const pipeline::PluginSet set = prepare(o);
    auto session = database::DatabaseSession::open(o.database, *spdlog::default_logger());
    auto connection = session.connect();
    apply::Journal journal(connection);
    const bool has_journal = journal.exists();
    const auto applied = has_journal ? journal.latest_per_plugin() : std::map<std::string, apply::PluginRecord>{};
    const auto p = apply::current_plan(connection, set, std::chrono::milliseconds(std::llround(o.lock_timeout_s * 1000)));

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
            if (op.plugin == plugin.name) drift.push_back("pending: " + op.summary);
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
        std::cout << (p.has_operations() ? "changes are pending: run plinth migrate\n" : "the database is up to date\n");
    }
    return 0;
}

}  // namespace plinth::cli
