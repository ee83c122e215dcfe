// Backfills, NOT NULL on live tables and rewrites on request (ABI 1.4), against a real PostgreSQL.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include "apply/migrate.hpp"
#include "load/loader.hpp"
#include "pg_fixture.hpp"
#include "plan/plan.hpp"
#include "processes.hpp"

namespace backfill_test {

namespace fs = std::filesystem;
using plinth::pipeline::PluginSet;

fs::path scenario_dir() {
    const char* v = std::getenv("PLINTH_TEST_MIGRATE_PLUGINS_DIR");
    REQUIRE_MESSAGE(v != nullptr, "PLINTH_TEST_MIGRATE_PLUGINS_DIR is not set; run with meson test");
    return v;
}

std::string plinth_exe() {
    const char* v = std::getenv("PLINTH_EXE");
    REQUIRE_MESSAGE(v != nullptr, "PLINTH_EXE is not set; run with meson test");
    return v;
}

PluginSet tasks(const std::string& file) {
    plinth::model::Plugin p;
    plinth::load::Refusal refusal;
    REQUIRE_MESSAGE(plinth::load::load_file(scenario_dir() / file, p, refusal), refusal.message());
    PluginSet set;
    set.validation = plinth::validate::validate({std::move(p)});
    for (const auto& problem : set.validation.problems) FAIL(problem.text());
    set.ordering = plinth::order::order(set.validation.plugins);
    return set;
}

spdlog::logger& silent() {
    static spdlog::logger log("backfill-test");
    return log;
}

struct Db {
    Db() : conninfo(plinth::test::TestCluster::instance().fresh_database()), connection(plinth::pg::Connection::open(conninfo)) {}
    std::string conninfo;
    plinth::pg::Connection connection;

    std::string scalar(const std::string& sql) {
        auto r = connection.exec(sql);
        REQUIRE(r.rows() == 1);
        return r.is_null(0, 0) ? "NULL" : r.text(0, 0);
    }
    plinth::apply::MigrateOutcome migrate(PluginSet set, const plinth::apply::MigrateOptions& options = {},
                                          spdlog::logger& log = silent()) {
        return plinth::apply::migrate(connection, set, options, log);
    }
    // `rows` tasks, every third without a legacy priority.
    void tasks_with_rows(int rows) {
        migrate(tasks("tasks_v1.so"));
        connection.exec("INSERT INTO tasks (id, legacy_priority, note) SELECT g, CASE WHEN g % 3 = 0 THEN NULL ELSE g % 7 "
                        "END, 'n' FROM generate_series(1, " + std::to_string(rows) + ") g");
        connection.exec("ANALYZE tasks");
    }
    std::string not_null(const std::string& column) {
        return scalar("SELECT attnotnull FROM pg_attribute WHERE attrelid = 'tasks'::regclass AND attname = '" + column + "'");
    }
};

std::string args_for(const Db& db, const fs::path& plugins) {
    return " --plugins " + plugins.string() + " --database-url '" + db.conninfo + "'";
}

std::vector<std::string> summaries_of(const plinth::plan::Plan& plan) {
    std::vector<std::string> out;
    for (const auto& op : plan.operations) out.push_back(op.summary);
    return out;
}

TEST_CASE("a NOT NULL column with a backfill is added nullable, filled in batches after the commit, then made NOT NULL online") {
    Db db;
    db.tasks_with_rows(10000);
    const auto set = tasks("tasks_backfill.so");
    const auto plan = plinth::apply::current_plan(db.connection, set);
    CHECK(summaries_of(plan) == std::vector<std::string>{
                                    "add column public.tasks.priority (NULL until backfilled)",
                                    "set default of public.tasks.priority",
                                    "backfill public.tasks.priority (in batches by primary key)",
                                    "set NOT NULL of public.tasks.priority (online, through check tasks_priority_not_null)"});
    CHECK(plan.operations[0].sql == "ALTER TABLE \"public\".\"tasks\" ADD COLUMN \"priority\" integer");
    CHECK(plan.operations[2].sql ==
          "UPDATE \"public\".\"tasks\" SET \"priority\" = (coalesce(legacy_priority, 0) + 1) WHERE \"priority\" IS NULL");
    CHECK(plan.operations[2].phase == plinth::plan::Phase::after_commit);
    CHECK(plan.not_done.empty());

    plinth::apply::MigrateOptions options;
    options.backfill_batch_rows = 700;
    options.backfill_pause = std::chrono::milliseconds(0);
    const auto outcome = db.migrate(set, options);
    CHECK(outcome.after_commit_failures.empty());
    CHECK(db.not_null("priority") == "t");
    CHECK(db.scalar("SELECT count(*) FROM tasks WHERE priority IS DISTINCT FROM coalesce(legacy_priority, 0) + 1") == "0");
    // The helper check is gone, and the journal says the backfill went through every row in 15 batches.
    CHECK(db.scalar("SELECT count(*) FROM pg_constraint WHERE conrelid = 'tasks'::regclass AND contype = 'c'") == "0");
    CHECK(db.scalar("SELECT phase || ' ' || rows_done || ' ' || rows_filled || ' ' || batches || ' ' || (finished_at IS "
                    "NOT NULL) FROM plinth.backfills WHERE table_name = 'public.tasks' AND column_name = 'priority'") ==
          "done 10000 10000 15 true");
    // New rows get the default; the next start plans nothing and takes the fast path again.
    db.connection.exec("INSERT INTO tasks (id) VALUES (20000)");
    CHECK(db.scalar("SELECT priority FROM tasks WHERE id = 20000") == "0");
    CHECK_FALSE(plinth::apply::current_plan(db.connection, set).has_operations());
    CHECK(db.migrate(set).up_to_date_fast);
}

TEST_CASE("on an empty table a NOT NULL column with a backfill is simply added") {
    Db db;
    db.migrate(tasks("tasks_v1.so"));
    const auto plan = plinth::apply::current_plan(db.connection, tasks("tasks_backfill.so"));
    CHECK(summaries_of(plan) == std::vector<std::string>{"add column public.tasks.priority"});
}

TEST_CASE("a backfill stopped part way is pending in plan and status, keeps the fast path off, and resumes after its last key") {
    Db db;
    db.tasks_with_rows(5000);
    const auto set = tasks("tasks_backfill.so");
    plinth::apply::MigrateOptions options;
    options.backfill_batch_rows = 500;
    options.backfill_pause = std::chrono::milliseconds(0);
    int asked = 0;
    options.should_stop = [&] { return ++asked > 4; };  // four batches, then a stop request
    const auto stopped = db.migrate(set, options);
    REQUIRE(stopped.after_commit_failures.size() == 1);
    CHECK(stopped.after_commit_failures[0].find("interrupted by a stop request; it resumes where it stopped") !=
          std::string::npos);
    CHECK(db.not_null("priority") == "f");
    CHECK(db.scalar("SELECT phase || ' ' || rows_done || ' ' || batches || ' ' || array_to_string(last_key, ',') FROM "
                    "plinth.backfills") == "fill 2000 4 2000");
    CHECK(db.scalar("SELECT count(*) FROM tasks WHERE priority IS NULL") == "3000");

    // Pending: plan lists the backfill, status says so, the fingerprint stays off.
    plinth::test::TempDir plugins;
    fs::copy_file(scenario_dir() / "tasks_backfill.so", plugins.path() / "tasks.so");
    const auto plan = plinth::test::run_command(plinth_exe() + " plan" + args_for(db, plugins.path()) + " 2>/dev/null");
    CHECK(plan.exit_code == 2);
    CHECK(plan.out.find("backfill public.tasks.priority (in batches by primary key) -- after the commit") != std::string::npos);
    const auto status = plinth::test::run_command(plinth_exe() + " status" + args_for(db, plugins.path()) + " 2>/dev/null");
    CHECK(status.exit_code == 2);
    CHECK(status.out.find("drift: pending: backfill public.tasks.priority (in batches by primary key): fill, 2000 of 5000 "
                          "rows done\n") != std::string::npos);
    CHECK(db.scalar("SELECT catalog_fingerprint FROM plinth.state") == "");

    // The rows the first batches set keep the transaction that set them: the resumed backfill does
    // not touch them again.
    const auto before = db.scalar("SELECT string_agg(xmin::text, ',' ORDER BY id) FROM tasks WHERE id <= 2000");
    auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(100);
    spdlog::logger log("backfill-resume", sink);
    options.should_stop = nullptr;
    options.progress_interval = std::chrono::milliseconds(0);  // a progress line after every batch
    const auto resumed = db.migrate(set, options, log);
    CHECK(resumed.after_commit_failures.empty());
    CHECK_FALSE(resumed.up_to_date_fast);
    CHECK(db.scalar("SELECT string_agg(xmin::text, ',' ORDER BY id) FROM tasks WHERE id <= 2000") == before);
    CHECK(db.not_null("priority") == "t");
    CHECK(db.scalar("SELECT count(*) FROM tasks WHERE priority IS DISTINCT FROM coalesce(legacy_priority, 0) + 1") == "0");
    CHECK(db.scalar("SELECT rows_done || ' ' || batches FROM plinth.backfills") == "5000 10");
    bool told = false, progress = false, finished = false;
    for (const auto& line : sink->last_formatted()) {
        told = told || line.find("resuming the fill after key (2000), 2000 rows done in 4 batches") != std::string::npos;
        progress = progress || line.find("backfill public.tasks.priority (in batches by primary key) (after the commit): "
                                         "fill: 2500 rows done, 2500 remaining") != std::string::npos;
        finished = finished || line.find("fill finished: 5000 rows done, 0 remaining") != std::string::npos;
    }
    CHECK(told);
    CHECK(progress);
    CHECK(finished);
}

TEST_CASE("kill -9 in the middle of a backfill: the next migrate resumes after the last batch recorded") {
    Db db;
    db.tasks_with_rows(200000);
    plinth::test::TempDir plugins;
    fs::copy_file(scenario_dir() / "tasks_backfill.so", plugins.path() / "tasks.so");
    const std::string command = "exec " + plinth_exe() + " migrate --backfill-batch-rows 1000 --backfill-pause 0.02" +
                                args_for(db, plugins.path()) + " >/dev/null 2>&1";
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    // Killed once some batches are recorded, well before the last.
    std::string done = "0";
    for (int i = 0; i < 600 && std::stoll(done) < 20000; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        done = db.scalar("SELECT coalesce((SELECT rows_done FROM plinth.backfills), 0)");
    }
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    REQUIRE(WIFSIGNALED(status));
    const auto recorded = std::stoll(db.scalar("SELECT rows_done FROM plinth.backfills"));
    REQUIRE(recorded >= 20000);
    REQUIRE(recorded < 200000);
    // Every batch recorded is in the table; nothing after the last key recorded is (the batch in
    // flight died with its transaction).
    const auto last_key = db.scalar("SELECT last_key[1] FROM plinth.backfills");
    CHECK(last_key == std::to_string(recorded));
    CHECK(db.scalar("SELECT count(*) FROM tasks WHERE priority IS NOT NULL") == std::to_string(recorded));
    CHECK(db.scalar("SELECT count(*) FROM tasks WHERE priority IS NULL AND id <= " + last_key) == "0");
    const auto before = db.scalar("SELECT md5(string_agg(xmin::text, ',' ORDER BY id)) FROM tasks WHERE id <= " + last_key);
    const auto batches_before = std::stoll(db.scalar("SELECT batches FROM plinth.backfills"));

    const auto again = plinth::test::run_command(plinth_exe() + " migrate --backfill-batch-rows 1000 --backfill-pause 0" +
                                                 args_for(db, plugins.path()) + " 2>&1");
    CHECK_MESSAGE(again.exit_code == 0, again.out);
    CHECK(again.out.find("resuming the fill after key (" + last_key + ")") != std::string::npos);
    // The rows done before the kill were not updated again, and the batches went on from there.
    CHECK(db.scalar("SELECT md5(string_agg(xmin::text, ',' ORDER BY id)) FROM tasks WHERE id <= " + last_key) == before);
    CHECK(db.scalar("SELECT batches FROM plinth.backfills") == std::to_string(batches_before + 200 - recorded / 1000));
    CHECK(db.not_null("priority") == "t");
    CHECK(db.scalar("SELECT count(*) FROM tasks WHERE priority IS DISTINCT FROM coalesce(legacy_priority, 0) + 1") == "0");
}

TEST_CASE("NOT NULL on a populated table without a backfill or a default stays refused, saying how to declare one") {
    Db db;
    db.tasks_with_rows(3);
    CHECK_THROWS_WITH_AS(db.migrate(tasks("tasks_no_backfill.so")),
                         "migration refused before any statement ran; the database is unchanged:\n"
                         "  plugin \"tasks\", table public.tasks column \"priority\": refused: NOT NULL column without a "
                         "default added to a table with 3 rows; declare a backfill, which fills the existing rows after "
                         "the commit before NOT NULL is set (e.g. .backfill(\"coalesce(legacy_priority, 0)\")), or a "
                         "default, or add it by hand and fill it\n"
                         "    by hand: ALTER TABLE \"public\".\"tasks\" ADD COLUMN \"priority\" integer; UPDATE "
                         "\"public\".\"tasks\" SET \"priority\" = ...; ALTER TABLE \"public\".\"tasks\" ALTER COLUMN "
                         "\"priority\" SET NOT NULL",
                         plinth::apply::MigrationError);
}

TEST_CASE("a backfill the server rejects refuses its plugin before anything is applied") {
    Db db;
    db.tasks_with_rows(3);
    auto set = tasks("tasks_bad_backfill.so");
    const auto outcome = db.migrate(set);
    REQUIRE(outcome.refused.problems.size() == 1);
    CHECK(outcome.refused.problems[0].text().find(
              "plugin \"tasks\": table \"tasks\": column \"priority\": backfill rejected by the server: ERROR 42703: "
              "column \"no_such_column\" does not exist") != std::string::npos);
    CHECK(db.scalar("SELECT count(*) FROM pg_attribute WHERE attrelid = 'tasks'::regclass AND attname = 'priority'") == "0");
}

TEST_CASE("a type change that rewrites the table waits under \"will not do\" until --allow-hazard table-rewrite allows it") {
    Db db;
    db.tasks_with_rows(1000);
    plinth::test::TempDir plugins;
    fs::copy_file(scenario_dir() / "tasks_bigint.so", plugins.path() / "tasks.so");
    const auto args = args_for(db, plugins.path());

    const auto refused = plinth::test::run_command(plinth_exe() + " plan" + args + " 2>/dev/null");
    CHECK(refused.exit_code == 3);
    CHECK(refused.out.find("will not do:\n- [tasks] public.tasks column \"legacy_priority\": type differs: the database "
                           "has integer, the plugin declares bigint") != std::string::npos);
    CHECK(plinth::test::run_command(plinth_exe() + " migrate" + args + " 2>/dev/null").exit_code == 0);
    CHECK(db.scalar("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'tasks'::regclass AND "
                    "attname = 'legacy_priority'") == "integer");

    const auto allowed = plinth::test::run_command(plinth_exe() + " plan --allow-hazard table-rewrite" + args + " 2>/dev/null");
    CHECK(allowed.exit_code == 2);
    CHECK_MESSAGE(allowed.out.find("1. [tasks] change type of public.tasks.legacy_priority from integer to bigint "
                                   "(rewrites the table: 1000 rows, ") != std::string::npos,
                  allowed.out);
    CHECK(allowed.out.find("ALTER TABLE \"public\".\"tasks\" ALTER COLUMN \"legacy_priority\" TYPE bigint USING "
                           "(legacy_priority::bigint * 10);\n") != std::string::npos);
    CHECK(allowed.out.find("-- hazard: rewrites public.tasks (1000 rows, ") != std::string::npos);
    CHECK(plinth::test::run_command(plinth_exe() + " migrate --allow-hazard table-rewrite" + args + " 2>/dev/null")
              .exit_code == 0);
    CHECK(db.scalar("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'tasks'::regclass AND "
                    "attname = 'legacy_priority'") == "bigint");
    CHECK(db.scalar("SELECT legacy_priority FROM tasks WHERE id = 1") == "10");
}

TEST_CASE("the table-rewrite hazard allowed in the [plinth] table of plinth run's config") {
    Db db;
    db.tasks_with_rows(10);
    plinth::test::TempDir dir;
    fs::create_directory(dir.path() / "plugins");
    fs::copy_file(scenario_dir() / "tasks_bigint.so", dir.path() / "plugins" / "tasks.so");
    const auto config = dir.path() / "plinth.toml";
    std::ofstream(config) << "[plinth]\nallow_hazard = [\"table-rewrite\"]\n";
    // run migrates, then runs the plugin until the signal; --ready-file tells it started.
    const auto ready = dir.path() / "ready";
    const std::string command = "exec " + plinth_exe() + " run --config " + config.string() + " --ready-file " +
                                ready.string() + args_for(db, dir.path() / "plugins") + " >/dev/null 2>&1";
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    for (int i = 0; i < 300 && !fs::exists(ready); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const bool started = fs::exists(ready);
    ::kill(child, SIGTERM);
    int status = 0;
    ::waitpid(child, &status, 0);
    CHECK(started);
    CHECK(db.scalar("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'tasks'::regclass AND "
                    "attname = 'legacy_priority'") == "bigint");
}

// A writer inserting and updating rows of tasks on its own connection until `done`: the longest
// single statement, in ms.
struct WriterStall {
    double longest_ms = 0;
    long statements = 0;
    std::string error;
};

WriterStall write_until(const std::string& conninfo, const std::atomic<bool>& done, long first_id) {
    WriterStall out;
    try {
        auto c = plinth::pg::Connection::open(conninfo);
        std::minstd_rand random(42);
        long next = first_id;
        while (!done) {
            const bool insert = out.statements % 2 == 0;
            const auto t0 = std::chrono::steady_clock::now();
            if (insert)
                c.exec_params("INSERT INTO tasks (id, legacy_priority, note) VALUES ($1, 3, 'w')", {std::to_string(next++)});
            else
                c.exec_params("UPDATE tasks SET note = 'u' WHERE id = $1",
                              {std::to_string(std::uniform_int_distribution<long>(1, first_id - 1)(random))});
            out.longest_ms = std::max(out.longest_ms,
                                      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
            ++out.statements;
        }
    } catch (const std::exception& e) {
        out.error = e.what();
    }
    return out;
}

TEST_CASE("a backfilled NOT NULL column on 1,000,000 rows while a writer inserts and updates: the longest stall is measured") {
    Db db;
    db.tasks_with_rows(1000000);
    std::atomic<bool> done{false};
    WriterStall stall;
    std::thread writer([&] { stall = write_until(db.conninfo, done, 1000001); });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    const auto t0 = std::chrono::steady_clock::now();
    std::string failure;
    plinth::apply::MigrateOutcome outcome;
    try {
        outcome = db.migrate(tasks("tasks_backfill.so"));  // the default batches and pause
    } catch (const std::exception& e) {
        failure = e.what();
    }
    const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    done = true;
    writer.join();
    REQUIRE_MESSAGE(failure.empty(), failure);
    REQUIRE_MESSAGE(stall.error.empty(), stall.error);
    CHECK(outcome.after_commit_failures.empty());
    MESSAGE("backfill of 1,000,000 rows took " << seconds << " s; the writer ran " << stall.statements
                                               << " statements, the longest took " << stall.longest_ms << " ms");
    CHECK(db.not_null("priority") == "t");
    CHECK(db.scalar("SELECT count(*) FROM tasks WHERE id <= 1000000 AND priority IS DISTINCT FROM "
                    "coalesce(legacy_priority, 0) + 1") == "0");
    CHECK(stall.statements > 100);
}

}  // namespace backfill_test
