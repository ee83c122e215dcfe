// Renames (renamed_from) and upgrade steps (ABI 1.4) against a real PostgreSQL.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "apply/migrate.hpp"
#include "apply/upgrade.hpp"
#include "load/loader.hpp"
#include "pg_fixture.hpp"
#include "plan/plan.hpp"
#include "processes.hpp"

namespace fs = std::filesystem;
using plinth::pipeline::PluginSet;

namespace {

fs::path upgrade_env(const char* name) {
    const char* v = std::getenv(name);
    REQUIRE_MESSAGE(v != nullptr, name << " is not set; run with meson test");
    return v;
}

fs::path upgrade_plugin(const std::string& file) { return upgrade_env("PLINTH_TEST_MIGRATE_PLUGINS_DIR") / file; }

PluginSet upgrade_set(const std::vector<std::string>& files) {
    PluginSet set;
    std::vector<plinth::model::Plugin> plugins;
    for (const auto& f : files) {
        plinth::model::Plugin p;
        plinth::load::Refusal refusal;
        REQUIRE_MESSAGE(plinth::load::load_file(upgrade_plugin(f), p, refusal), refusal.message());
        plugins.push_back(std::move(p));
    }
    set.validation = plinth::validate::validate(std::move(plugins));
    for (const auto& problem : set.validation.problems) FAIL(problem.text());
    set.ordering = plinth::order::order(set.validation.plugins);
    return set;
}

spdlog::logger& silent() {
    static spdlog::logger log("upgrade-test");
    return log;
}

struct UpgradeDb {
    UpgradeDb()
        : conninfo(plinth::test::TestCluster::instance().fresh_database()),
          connection(plinth::pg::Connection::open(conninfo)) {}
    std::string conninfo;
    plinth::pg::Connection connection;

    std::string scalar(const std::string& sql) {
        auto r = connection.exec(sql);
        REQUIRE(r.rows() == 1);
        return r.is_null(0, 0) ? "NULL" : r.text(0, 0);
    }
    plinth::apply::MigrateOutcome migrate(PluginSet set, std::shared_ptr<plinth::apply::UpgradeRunner> runner = {}) {
        plinth::apply::MigrateOptions options;
        options.upgrades = std::move(runner);
        return plinth::apply::migrate(connection, set, options, silent());
    }
    // The MigrationError's text; FAILs when the migration succeeds.
    std::string failure(PluginSet set, std::shared_ptr<plinth::apply::UpgradeRunner> runner = {}) {
        try {
            migrate(std::move(set), std::move(runner));
        } catch (const plinth::apply::MigrationError& e) {
            return e.what();
        }
        FAIL("the migration succeeded");
        return {};
    }
    std::string relation(const std::string& name) { return scalar("SELECT to_regclass('" + name + "') IS NOT NULL"); }
    std::string column_exists(const std::string& table, const std::string& column) {
        return scalar("SELECT count(*) FROM pg_attribute WHERE attrelid = '" + table + "'::regclass AND attname = '" +
                      column + "' AND NOT attisdropped");
    }
};

std::vector<std::string> summaries_of(const plinth::plan::Plan& plan) {
    std::vector<std::string> out;
    for (const auto& op : plan.operations) out.push_back(op.summary);
    return out;
}

// ledger 1.0 with three entries whose amounts are still text.
void ledger_with_rows(UpgradeDb& db) {
    db.migrate(upgrade_set({"ledger_v1.so"}));
    db.connection.exec("INSERT INTO ledger_entries (legacy_amount) VALUES ('12'), ('30'), ('7')");
}

void check_ledger_untouched(UpgradeDb& db) {
    CHECK(db.scalar("SELECT string_agg(legacy_amount, ',' ORDER BY legacy_amount) FROM ledger_entries") == "12,30,7");
    CHECK(db.scalar("SELECT count(*) FROM ledger_entries WHERE amount IS NOT NULL") == "0");
    CHECK(db.scalar("SELECT count(*) FROM ledger_upgrades") == "0");
    CHECK(db.relation("ledger_notes") == "f");
    CHECK(db.scalar("SELECT count(*) FROM pg_constraint WHERE conname = 'ledger_entries_amount_check'") == "0");
    CHECK(db.scalar("SELECT version FROM plinth.journal WHERE plugin = 'ledger' ORDER BY id DESC LIMIT 1") == "1.0.0");
}

}  // namespace

TEST_CASE("a table and a column renamed keep their rows; the foreign key and the index follow; the second start is a no-op") {
    UpgradeDb db;
    db.migrate(upgrade_set({"todo_v1.so"}));
    db.connection.exec("INSERT INTO todo (title, prio) VALUES ('write the plan', 1)");
    db.connection.exec("INSERT INTO todo_notes (todo_id, body) SELECT id, 'a note' FROM todo");
    const auto v2 = upgrade_set({"todo_v2.so"});
    const auto plan = plinth::apply::current_plan(db.connection, v2);
    CHECK(summaries_of(plan) ==
          std::vector<std::string>{"rename table public.todo to public.tasks", "rename column public.tasks.title to name"});
    REQUIRE(plan.operations.size() == 2);
    CHECK(plan.operations[0].sql == "ALTER TABLE \"public\".\"todo\" RENAME TO \"tasks\"");
    CHECK(plan.operations[1].sql == "ALTER TABLE \"public\".\"tasks\" RENAME COLUMN \"title\" TO \"name\"");
    CHECK(plan.text().find("-- hazard: catalog only, no row is touched; an older version of the plugin still running "
                           "elsewhere loses the old name") != std::string::npos);
    CHECK(plan.not_done.empty());

    const auto outcome = db.migrate(v2);
    CHECK(outcome.statements_applied == 2);
    CHECK(db.relation("todo") == "f");
    CHECK(db.scalar("SELECT name || ' ' || prio FROM tasks") == "write the plan 1");
    CHECK(db.scalar("SELECT count(*) FROM todo_notes n JOIN tasks t ON t.id = n.todo_id") == "1");
    CHECK(db.column_exists("tasks", "title") == "0");
    // Journaled with its plugin.
    CHECK(db.scalar("SELECT statements->0->>'sql' FROM plinth.journal WHERE plugin = 'tasks' ORDER BY id DESC LIMIT 1") ==
          "ALTER TABLE \"public\".\"todo\" RENAME TO \"tasks\"");

    // Done: the next start finds nothing to do, and the plan nothing to report.
    const auto again = db.migrate(v2);
    CHECK(again.up_to_date_fast);
    CHECK(again.statements_applied == 0);
    const auto after = plinth::apply::current_plan(db.connection, v2);
    CHECK(after.operations.empty());
    CHECK(after.not_done.empty());
    // The foreign key still holds on the renamed table.
    CHECK_THROWS_AS(db.connection.exec("INSERT INTO todo_notes (todo_id, body) VALUES (gen_random_uuid(), 'orphan')"),
                    plinth::pg::Error);
}

TEST_CASE("a rename whose old and new names both exist is refused, naming both; nothing changes") {
    UpgradeDb db;
    db.migrate(upgrade_set({"todo_v1.so"}));
    db.connection.exec("CREATE TABLE public.tasks (id uuid PRIMARY KEY, name text, prio integer)");
    const auto message = db.failure(upgrade_set({"todo_v2.so"}));
    CHECK_MESSAGE(message.find("migration refused before any statement ran") != std::string::npos, message);
    CHECK_MESSAGE(message.find("plugin \"tasks\", table public.tasks: declared as renamed from public.todo, but both "
                               "public.todo and public.tasks exist") != std::string::npos,
                  message);
    CHECK(db.relation("todo") == "t");
    CHECK(db.column_exists("todo", "title") == "1");
}

TEST_CASE("an upgrade step moves data between two columns, in a child process and in plinth's own, once per version change") {
    for (const bool forked : {true, false}) {
        CAPTURE(forked);
        UpgradeDb db;
        ledger_with_rows(db);
        // Not on the first install: nothing came before 1.0.
        CHECK(db.scalar("SELECT count(*) FROM ledger_upgrades") == "0");
        const auto v2 = upgrade_set({"ledger_v2.so"});
        // The plan shows the step as pending work, though no statement is.
        const auto plan = plinth::apply::current_plan(db.connection, v2);
        CHECK(plan.operations.empty());
        CHECK(plan.has_operations());
        CHECK(plan.text() == "plan: no statements; 1 upgrade step in one transaction\n\nupgrade steps (plugin code, in "
                             "the transaction after the statements):\n- [ledger] from version 1.0.0 to 2.0.0\n");
        // Only the version differs: the fast path must not hide the change.
        const auto outcome =
            db.migrate(v2, forked ? std::shared_ptr<plinth::apply::UpgradeRunner>() : plinth::apply::in_process_upgrades());
        CHECK_FALSE(outcome.up_to_date_fast);
        CHECK(outcome.statements_applied == 0);
        REQUIRE(outcome.upgrades.size() == 1);
        CHECK(outcome.upgrades[0].from_version == "1.0.0");
        CHECK_FALSE(plinth::apply::current_plan(db.connection, v2).has_operations());
        CHECK(db.scalar("SELECT string_agg(amount::text, ',' ORDER BY amount) FROM ledger_entries") == "7,12,30");
        CHECK(db.scalar("SELECT count(*) FROM ledger_entries WHERE legacy_amount IS NOT NULL") == "0");
        CHECK(db.scalar("SELECT from_version || ' -> ' || to_version FROM ledger_upgrades") == "1.0.0 -> 2.0.0");
        CHECK(db.scalar("SELECT version || ' from ' || upgraded_from FROM plinth.journal WHERE plugin = 'ledger' "
                        "ORDER BY id DESC LIMIT 1") == "2.0.0 from 1.0.0");
        // Once: the next start takes the fast path and the step does not run again.
        CHECK(db.migrate(v2).up_to_date_fast);
        CHECK(db.scalar("SELECT count(*) FROM ledger_upgrades") == "1");
    }
}

TEST_CASE("an upgrade step that fails rolls everything back, the schema too, and names the plugin") {
    for (const bool forked : {true, false}) {
        CAPTURE(forked);
        UpgradeDb db;
        ledger_with_rows(db);
        const auto message = db.failure(upgrade_set({"ledger_v2_failing.so"}),
                                        forked ? std::shared_ptr<plinth::apply::UpgradeRunner>()
                                               : plinth::apply::in_process_upgrades());
        CHECK_MESSAGE(message.find("migration failed and was rolled back; the database is unchanged.\n  plugin \"ledger\" (") !=
                          std::string::npos,
                      message);
        CHECK_MESSAGE(message.find("ledger_v2_failing.so), phase upgrade (from version 1.0.0 to 2.0.0): returned an "
                                   "error: cannot convert amount \"12x\": not a number") != std::string::npos,
                      message);
        check_ledger_untouched(db);
    }
}

TEST_CASE("an upgrade step that segfaults in its child process is named with the signal; plinth rolls back and goes on") {
    UpgradeDb db;
    ledger_with_rows(db);
    const auto message = db.failure(upgrade_set({"ledger_v2_crash.so"}));
    CHECK_MESSAGE(message.find("plugin \"ledger\" (") != std::string::npos, message);
    CHECK_MESSAGE(message.find("ledger_v2_crash.so), phase upgrade (from version 1.0.0 to 2.0.0): its process was killed "
                               "by signal 11 (SIGSEGV: Segmentation fault") != std::string::npos,
                  message);
    check_ledger_untouched(db);
    // The same connection goes on: the good version migrates.
    db.migrate(upgrade_set({"ledger_v2.so"}));
    CHECK(db.scalar("SELECT count(*) FROM ledger_upgrades") == "1");
}

TEST_CASE("an upgrade step cannot end the migration's transaction: COMMIT is refused, and its changes commit once with the rest") {
    UpgradeDb db;
    ledger_with_rows(db);
    db.migrate(upgrade_set({"ledger_v2_commit.so"}));
    CHECK(db.scalar("SELECT count(*) FROM ledger_upgrades") == "1");
    CHECK(db.scalar("SELECT version FROM plinth.journal WHERE plugin = 'ledger' ORDER BY id DESC LIMIT 1") == "2.0.0");
}

TEST_CASE("eight plinth migrate processes at once run an upgrade step exactly once") {
    UpgradeDb db;
    ledger_with_rows(db);
    plinth::test::TempDir v2;
    fs::copy_file(upgrade_plugin("ledger_v2.so"), v2.path() / "ledger.so");
    const auto codes = plinth::test::run_concurrently(upgrade_env("PLINTH_EXE").string() + " migrate --plugins " +
                                                          v2.path().string() + " --database-url '" + db.conninfo +
                                                          "' >/dev/null 2>&1",
                                                      8);
    CHECK(codes == std::vector<int>(8, 0));
    CHECK(db.scalar("SELECT count(*) FROM ledger_upgrades") == "1");
    CHECK(db.scalar("SELECT count(*) FROM plinth.journal WHERE upgraded_from IS NOT NULL") == "1");
    CHECK(db.scalar("SELECT string_agg(amount::text, ',' ORDER BY amount) FROM ledger_entries") == "7,12,30");
}

TEST_CASE("an upgrade step whose process exits, or outlives its time bound, fails naming the plugin; nothing stays") {
    {
        UpgradeDb db;
        ledger_with_rows(db);
        const auto message = db.failure(upgrade_set({"ledger_v2_exit.so"}));
        CHECK_MESSAGE(message.find("ledger_v2_exit.so), phase upgrade (from version 1.0.0 to 2.0.0): its process exited "
                                   "with status 3 before the step returned") != std::string::npos,
                      message);
        check_ledger_untouched(db);
    }
    {
        UpgradeDb db;
        ledger_with_rows(db);
        const auto message =
            db.failure(upgrade_set({"ledger_v2_hang.so"}), plinth::apply::forked_upgrades({}, std::chrono::seconds(1)));
        CHECK_MESSAGE(message.find("ledger_v2_hang.so), phase upgrade (from version 1.0.0 to 2.0.0): did not return "
                                   "within 1 s (--upgrade-timeout): its process was killed") != std::string::npos,
                      message);
        check_ledger_untouched(db);
    }
}

TEST_CASE("a statement of an upgrade step that fails outside a savepoint fails the migration, whatever the step returns") {
    for (const bool forked : {true, false}) {
        CAPTURE(forked);
        UpgradeDb db;
        ledger_with_rows(db);
        const auto message = db.failure(upgrade_set({"ledger_v2_bad_sql.so"}),
                                        forked ? std::shared_ptr<plinth::apply::UpgradeRunner>()
                                               : plinth::apply::in_process_upgrades());
        CHECK_MESSAGE(message.find("ledger_v2_bad_sql.so), phase upgrade (from version 1.0.0 to 2.0.0): a statement "
                                   "failed\n  ERROR 22P02") != std::string::npos,
                      message);
        check_ledger_untouched(db);
    }
}
