#include "cli/migrate_commands.hpp"

#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "apply/journal.hpp"
#include "apply/migrate.hpp"
#include "cli/plugin_set.hpp"
#include "embedded/database.hpp"
#include "plan/plan.hpp"

namespace plinth::cli {
namespace {

struct Options {
    PluginOptions plugins;
    DatabaseOptions database;
    std::string format = "text";
    double lock_timeout_s = 5;
};

void add_common(CLI::App& cmd, Options& o, bool with_format) {
    add_plugin_options(cmd, o.plugins);
    add_database_options(cmd, o.database);
    if (with_format) cmd.add_option("--format", o.format, "Output format")->check(CLI::IsMember({"text", "json"}));
}

// Loads the plugins; with --strict, any refused, invalid or skipped plugin ends the command.
PluginSet prepare(const Options& o) {
    PluginSet set = load_plugin_set(o.plugins);
    log_plugin_issues(set, o.plugins.strict);
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

void run_plan(const Options& o, int& exit_code) {
    const PluginSet set = prepare(o);
    auto session = DatabaseSession::open(o.database, *spdlog::default_logger());
    auto connection = session.connect();
    const auto p = apply::current_plan(connection, set);
    if (o.format == "json")
        std::cout << plan_json(p).dump(2) << "\n";
    else
        std::cout << p.text();
    exit_code = p.blocked() ? 1 : p.has_operations() ? 2 : 0;
}

void run_migrate(const Options& o, int& exit_code) {
    const PluginSet set = prepare(o);
    auto session = DatabaseSession::open(o.database, *spdlog::default_logger());
    auto connection = session.connect();
    apply::MigrateOptions options;
    options.lock_timeout = std::chrono::milliseconds(static_cast<long>(o.lock_timeout_s * 1000));
    try {
        const auto outcome = apply::migrate(connection, set, options, *spdlog::default_logger());
        exit_code = outcome.after_commit_failures.empty() ? 0 : 1;
        if (!outcome.up_to_date_fast && outcome.statements_applied == 0)
            spdlog::info("schema up to date; nothing applied");
    } catch (const apply::MigrationError& e) {
        spdlog::error("{}", e.what());
        exit_code = 1;
    }
}

void run_status(const Options& o, int& exit_code) {
    const PluginSet set = prepare(o);
    auto session = DatabaseSession::open(o.database, *spdlog::default_logger());
    auto connection = session.connect();
    apply::Journal journal(connection);
    const bool has_journal = journal.exists();
    const auto applied = has_journal ? journal.latest_per_plugin() : std::map<std::string, apply::PluginRecord>{};
    const auto p = apply::current_plan(connection, set);

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
    exit_code = 0;
}

}  // namespace

void add_migrate_commands(CLI::App& app, int& exit_code) {
    auto plan_options = std::make_shared<Options>();
    auto* plan_cmd = app.add_subcommand(
        "plan", "Print what migrate would do (SQL, hazards, what it will not do); exit 0 up to date, 2 pending, 1 error");
    add_common(*plan_cmd, *plan_options, true);
    plan_cmd->callback([plan_options, &exit_code] { run_plan(*plan_options, exit_code); });

    auto migrate_options = std::make_shared<Options>();
    auto* migrate_cmd = app.add_subcommand("migrate", "Apply the plan in one transaction under an advisory lock, then exit");
    add_common(*migrate_cmd, *migrate_options, false);
    migrate_cmd->add_option("--lock-timeout", migrate_options->lock_timeout_s,
                            "Seconds one statement may wait for a table lock before the attempt is retried (0: no limit)")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    migrate_cmd->callback([migrate_options, &exit_code] { run_migrate(*migrate_options, exit_code); });

    auto status_options = std::make_shared<Options>();
    auto* status_cmd = app.add_subcommand("status", "Show per plugin its version, schema hash, last application and drift");
    add_common(*status_cmd, *status_options, true);
    status_cmd->callback([status_options, &exit_code] { run_status(*status_options, exit_code); });
}

}  // namespace plinth::cli
