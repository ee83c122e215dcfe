// `plinth run` end to end: the real executable, real plugins, a fresh database, signals.
#include <doctest/doctest.h>

#include <csignal>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "apply/journal.hpp"
#include "pg/connection.hpp"
#include "pg_fixture.hpp"
#include "plinth_process.hpp"
#include "support.hpp"

using namespace std::chrono_literals;
using plinth::test::TempDir;
using plinth::test::TestCluster;
using plinth::test::eventually;
using plinth::test::required_env;
using plinth::test::PlinthProcess;
using plinth::test::file_exists;
using plinth::test::read_file;

TEST_CASE("plinth run: migrates, starts the shipped plugins in order, is ready, stops on SIGTERM with 0") {
    TempDir dir;
    const std::string db = TestCluster::instance().fresh_database();
    const auto ready = dir.path() / "ready";
    const std::vector<std::string> common{"run", "--plugins", required_env("PLINTH_TEST_PLUGINS_DIR"),
                                          "--database-url", db, "--ready-file", ready.string()};
    {
        PlinthProcess plinth(common, {}, dir.path() / "first.log");
        REQUIRE_MESSAGE(eventually([&] { return file_exists(ready); }), plinth.output());
        CHECK(read_file(ready) == std::to_string(plinth.pid()));
        plinth.signal(SIGTERM);
        REQUIRE_MESSAGE(plinth.wait() == 0, plinth.output());
        CHECK_FALSE(file_exists(ready));

        const std::vector<std::string> in_order{
            "[plinth] [info] started plugin \"core\" 1.0.0",
            "[project-management] [info] created project 'Launch plinth' for agent 'plinth-demo'",
            "[project-management] [info] project 'Launch plinth' has 3 tasks (1 done)",
            "[plinth] [info] started plugin \"project-management\" 1.0.0",
            "[plinth] [info] plinth is ready: 2 plugins running (core, project-management)",
            "[plinth] [info] received SIGTERM; stopping",
            "[plinth] [info] stopped plugin \"project-management\"",
            "[plinth] [info] stopped plugin \"core\"",
            "[plinth] [info] plinth stopped",
        };
        long previous = -1;
        for (const auto& line : in_order) {
            const long at = plinth.position(line);
            CHECK_MESSAGE(at > previous, line, "\n", plinth.output());
            previous = at;
        }
    }

    // Again on the same database: JSON lines, a configuration file overridden by the environment,
    // SIGINT. The demo project is found, not created twice; the configured one is new.
    const auto config = dir.path() / "plinth.toml";
    std::ofstream(config) << "[project-management]\nproject = \"From the file\"\nagent = \"from-the-file\"\n";
    auto args = common;
    args.insert(args.end(), {"--log-format", "json", "--config", config.string()});
    PlinthProcess plinth(args, {{"PLINTH_PROJECT_MANAGEMENT_AGENT", "from-the-environment"}}, dir.path() / "second.log");
    REQUIRE_MESSAGE(eventually([&] { return file_exists(ready); }), plinth.output());
    plinth.signal(SIGINT);
    REQUIRE_MESSAGE(plinth.wait() == 0, plinth.output());
    std::vector<std::string> messages;
    for (const auto& line : plinth.lines()) {
        const auto object = nlohmann::json::parse(line);  // every line is one JSON object
        messages.push_back(object["logger"].get<std::string>() + ": " + object["message"].get<std::string>());
    }
    const auto has = [&](const std::string& m) { return std::find(messages.begin(), messages.end(), m) != messages.end(); };
    CHECK(has("project-management: created project 'From the file' for agent 'from-the-environment'"));
    CHECK(has("project-management: project 'From the file' has 3 tasks (1 done)"));
    CHECK(has("plinth: received SIGINT; stopping"));

    auto conn = plinth::pg::Connection::open(db);
    CHECK(conn.exec("SELECT count(*) FROM projects").text(0, 0) == "2");
    CHECK(conn.exec("SELECT string_agg(username, ',' ORDER BY username) FROM agents").text(0, 0) ==
          "from-the-environment,plinth-demo");
}

TEST_CASE("plinth run: a failing plugin is disabled with its dependents; --strict makes it fatal") {
    TempDir dir;
    const auto ready = dir.path() / "ready";
    const std::vector<std::string> args{"run", "--plugins", required_env("PLINTH_TEST_HOST_PLUGINS_DIR"),
                                        "--database-url", TestCluster::instance().fresh_database(),
                                        "--ready-file", ready.string()};
    const std::map<std::string, std::string> env{{"PLINTH_ALPHA_FAIL", "init"}};
    {
        PlinthProcess plinth(args, env, dir.path() / "lenient.log");
        REQUIRE_MESSAGE(eventually([&] { return file_exists(ready); }), plinth.output());
        plinth.signal(SIGTERM);
        REQUIRE_MESSAGE(plinth.wait() == 0, plinth.output());
        const auto out = plinth.output();
        CHECK(out.find("plugin \"alpha\" failed in init: configured to fail in init") != std::string::npos);
        CHECK(out.find("plinth is ready: 1 plugin running (delta); 3 disabled (alpha: init failed: configured to fail "
                       "in init; beta: it depends on \"alpha\", which is disabled; gamma: it depends on \"alpha\", "
                       "which is disabled)") != std::string::npos);
    }
    auto strict = args;
    strict.push_back("--strict");
    PlinthProcess plinth(strict, env, dir.path() / "strict.log");
    REQUIRE_MESSAGE(plinth.wait() == 1, plinth.output());
    CHECK(plinth.output().find("stopping: --strict, and a plugin failed") != std::string::npos);
    CHECK_FALSE(file_exists(ready));
}

TEST_CASE("plinth run: a plugin whose declared SQL the server rejects is skipped with its dependents; the others run") {
    TempDir dir;
    const auto plugins = dir.path() / "plugins";
    std::filesystem::create_directory(plugins);
    const std::filesystem::path shipped(required_env("PLINTH_TEST_PLUGINS_DIR"));
    const std::filesystem::path scenarios(required_env("PLINTH_TEST_MIGRATE_PLUGINS_DIR"));
    for (const auto* file : {"core.so", "project-management.so"}) std::filesystem::copy_file(shipped / file, plugins / file);
    for (const auto* file : {"bad_default.so", "needs_bad.so"}) std::filesystem::copy_file(scenarios / file, plugins / file);
    const auto ready = dir.path() / "ready";
    const std::string db = TestCluster::instance().fresh_database();
    const std::vector<std::string> args{"run", "--plugins", plugins.string(), "--database-url", db,
                                        "--ready-file", ready.string()};
    {
        PlinthProcess plinth(args, {}, dir.path() / "lenient.log");
        REQUIRE_MESSAGE(eventually([&] { return file_exists(ready); }), plinth.output());
        plinth.signal(SIGTERM);
        REQUIRE_MESSAGE(plinth.wait() == 0, plinth.output());
        const auto out = plinth.output();
        CHECK_MESSAGE(out.find("plugin \"bad-default\": table \"gadgets\": column \"label\": default rejected by the "
                               "server: ERROR 42601: syntax error at or near \"text\" (declared at bad_default.cpp:") !=
                          std::string::npos,
                      out);
        CHECK(out.find("plugin \"bad-default\" skipped: 1 problem in its declared SQL, found by the server") !=
              std::string::npos);
        CHECK(out.find("plugin \"needs-bad\" skipped: requires plugin \"bad-default\", which was skipped") !=
              std::string::npos);
        CHECK_MESSAGE(out.find("plinth is ready: 2 plugins running (core, project-management)") != std::string::npos, out);
    }
    auto conn = plinth::pg::Connection::open(db);
    CHECK(conn.exec("SELECT to_regclass('public.gadgets') IS NULL AND to_regclass('public.needy') IS NULL").text(0, 0) ==
          "t");
    auto strict = args;
    strict.push_back("--strict");
    const std::string fresh = TestCluster::instance().fresh_database();
    strict[4] = fresh;
    PlinthProcess plinth(strict, {}, dir.path() / "strict.log");
    REQUIRE_MESSAGE(plinth.wait() == 1, plinth.output());
    CHECK_MESSAGE(plinth.output().find("not running: --strict: 2 plugins refused after the server's judgement of their "
                                       "declared SQL") != std::string::npos,
                  plinth.output());
    CHECK(plinth::pg::Connection::open(fresh).exec("SELECT to_regclass('public.agents') IS NULL").text(0, 0) == "t");
}

TEST_CASE("plinth run: a plugin hanging in stop is given --stop-timeout, then plinth exits anyway and says so") {
    TempDir dir;
    const auto ready = dir.path() / "ready";
    PlinthProcess plinth({"run", "--plugins", required_env("PLINTH_TEST_HOST_PLUGINS_DIR"), "--database-url",
                          TestCluster::instance().fresh_database(), "--ready-file", ready.string(), "--stop-timeout",
                          "0.5"},
                         {{"PLINTH_DELTA_STOP_SLEEP_MS", "600000"}}, dir.path() / "hang.log");
    REQUIRE_MESSAGE(eventually([&] { return file_exists(ready); }), plinth.output());
    plinth.signal(SIGTERM);
    REQUIRE_MESSAGE(plinth.wait() == 1, plinth.output());
    const auto out = plinth.output();
    CHECK(out.find("plugin \"delta\" did not stop within 500 ms; abandoning it") != std::string::npos);
    CHECK(out.find("exiting with delta still in stop") != std::string::npos);
    CHECK(out.find("stopped plugin \"alpha\"") != std::string::npos);
}

TEST_CASE("plinth run --no-supervise: a dependent hanging in the stop its dependency's failure causes makes plinth exit 1") {
    // beta fails in start; gamma requires beta, so it is stopped then, and hangs in that stop. In
    // plinth's own process, its thread is abandoned (supervised: test_supervise.cpp).
    TempDir dir;
    const auto ready = dir.path() / "ready";
    PlinthProcess plinth({"run", "--no-supervise", "--plugins", required_env("PLINTH_TEST_HOST_PLUGINS_DIR"),
                          "--database-url", TestCluster::instance().fresh_database(), "--ready-file", ready.string(),
                          "--stop-timeout", "0.5"},
                         {{"PLINTH_BETA_FAIL", "start"}, {"PLINTH_GAMMA_STOP_SLEEP_MS", "600000"}},
                         dir.path() / "dependent-hang.log");
    REQUIRE_MESSAGE(eventually([&] { return file_exists(ready); }), plinth.output());
    CHECK(plinth.output().find("plugin \"gamma\" did not stop within 500 ms; abandoning it") != std::string::npos);
    plinth.signal(SIGTERM);
    REQUIRE_MESSAGE(plinth.wait() == 1, plinth.output());
    const auto out = plinth.output();
    CHECK(out.find("exiting with gamma still in stop") != std::string::npos);
    CHECK(out.find("stopped plugin \"alpha\"") != std::string::npos);
    CHECK(out.find("plinth stopped") == std::string::npos);  // never the normal way out
}

TEST_CASE("plinth run: SIGHUP is a stop request like SIGTERM") {
    TempDir dir;
    const auto ready = dir.path() / "ready";
    PlinthProcess plinth({"run", "--plugins", required_env("PLINTH_TEST_HOST_PLUGINS_DIR"), "--database-url",
                          TestCluster::instance().fresh_database(), "--ready-file", ready.string()},
                         {}, dir.path() / "hup.log");
    REQUIRE_MESSAGE(eventually([&] { return file_exists(ready); }), plinth.output());
    plinth.signal(SIGHUP);
    REQUIRE_MESSAGE(plinth.wait() == 0, plinth.output());
    const auto out = plinth.output();
    CHECK(out.find("received SIGHUP; stopping") != std::string::npos);
    CHECK(out.find("stopped plugin \"alpha\"") != std::string::npos);
    CHECK(out.find("plinth stopped") != std::string::npos);
}

TEST_CASE("plinth run: Ctrl-C while waiting for another instance's migration ends it with 0, nothing changed") {
    TempDir dir;
    const std::string db = TestCluster::instance().fresh_database();
    // Another instance migrating: it holds the advisory lock.
    auto other = plinth::pg::Connection::open(db);
    other.exec("SELECT pg_advisory_lock(" + std::to_string(plinth::apply::kAdvisoryLockKey) + ")");
    PlinthProcess plinth({"run", "--plugins", required_env("PLINTH_TEST_HOST_PLUGINS_DIR"), "--database-url", db},
                         {}, dir.path() / "lock-wait.log");
    REQUIRE_MESSAGE(eventually([&] {
                        return plinth.output().find("waiting for another plinth instance's migration to finish") !=
                               std::string::npos;
                    }),
                    plinth.output());
    plinth.signal(SIGINT);
    REQUIRE_MESSAGE(plinth.wait() == 0, plinth.output());
    const auto out = plinth.output();
    CHECK(out.find("received SIGINT; stopping: interrupted while waiting for another instance's migration; nothing "
                   "was changed") != std::string::npos);
    CHECK(out.find("started plugin") == std::string::npos);
    CHECK(other.exec("SELECT to_regclass('public.alpha_items') IS NULL").text(0, 0) == "t");
}

TEST_CASE("plinth run: SIGTERM while retrying a lock ends it within a second or two with 0, nothing changed") {
    TempDir dir;
    const std::string db = TestCluster::instance().fresh_database();
    const auto plugins = dir.path() / "plugins";
    std::filesystem::create_directory(plugins);
    std::filesystem::copy_file(std::filesystem::path(required_env("PLINTH_TEST_PLUGINS_DIR")) / "core.so", plugins / "core.so");
    {
        PlinthProcess first({"migrate", "--plugins", plugins.string(), "--database-url", db}, {}, dir.path() / "first.log");
        REQUIRE_MESSAGE(first.wait() == 0, first.output());
    }
    // notes adds a key into agents, which waits for the SHARE ROW EXCLUSIVE lock that a session
    // holding ROW EXCLUSIVE (an application mid-transaction) denies it, attempt after attempt.
    std::filesystem::copy_file(std::filesystem::path(required_env("PLINTH_TEST_MIGRATE_PLUGINS_DIR")) / "notes.so",
                               plugins / "notes.so");
    auto holder = plinth::pg::Connection::open(db);
    const auto holder_pid = holder.exec("SELECT pg_backend_pid()").text(0, 0);
    holder.exec("BEGIN");
    holder.exec("LOCK TABLE agents IN ROW EXCLUSIVE MODE");
    PlinthProcess plinth({"run", "--plugins", plugins.string(), "--database-url", db}, {}, dir.path() / "retry.log");
    REQUIRE_MESSAGE(eventually([&] { return plinth.output().find("attempt 1 rolled back") != std::string::npos; }),
                    plinth.output());
    const auto signalled = std::chrono::steady_clock::now();
    plinth.signal(SIGTERM);
    REQUIRE_MESSAGE(plinth.wait(10s) == 0, plinth.output());
    const auto took = std::chrono::steady_clock::now() - signalled;
    MESSAGE("exited " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms after SIGTERM");
    CHECK(took < 3s);  // generous: the back-off is slept in slices of 100 ms
    const auto out = plinth.output();
    CHECK_MESSAGE(out.find("public.agents is locked by pid " + holder_pid + " (RowExclusiveLock") != std::string::npos, out);
    CHECK_MESSAGE(out.find("received SIGTERM; stopping: interrupted while retrying after a lock could not be had; nothing "
                           "was changed") != std::string::npos,
                  out);
    CHECK(out.find("started plugin") == std::string::npos);
    holder.exec("ROLLBACK");
    CHECK(holder.exec("SELECT to_regclass('public.notes') IS NULL").text(0, 0) == "t");
}
