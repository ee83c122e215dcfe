// Supervised `plinth run` (host/supervisor.hpp): one plugin per way of misbehaving beyond an error
// (tests/host/plugins/misbehaving), each beside "steady", which inserts a row every 20 ms from start
// to stop. The bad one is named with its step and signal or status and disabled, the worker is
// started again without it, and steady keeps writing rows.
#include <doctest/doctest.h>

#include "pg/connection.hpp"
#include "pg_fixture.hpp"
#include "plinth_process.hpp"
#include "support.hpp"

using namespace std::chrono_literals;
using plinth::test::PlinthProcess;
using plinth::test::TempDir;
using plinth::test::TestCluster;
using plinth::test::eventually;
using plinth::test::file_exists;
using plinth::test::required_env;

namespace {

bool has(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

// A plugin folder holding steady and the named plugins of the misbehaving folder (file stems).
std::filesystem::path plugin_folder(const TempDir& dir, const std::vector<std::string>& stems) {
    const auto folder = dir.path() / "plugins";
    std::filesystem::create_directories(folder);
    const std::filesystem::path built(required_env("PLINTH_TEST_MISBEHAVING_PLUGINS_DIR"));
    auto all = stems;
    all.push_back("steady");
    for (const auto& stem : all) std::filesystem::copy_file(built / (stem + ".so"), folder / (stem + ".so"));
    return folder;
}

long beats(const std::string& db) {
    return std::stol(plinth::pg::Connection::open(db).exec("SELECT count(*) FROM steady_beats").text(0, 0));
}

// Steady is running: rows keep coming.
bool steady_runs(const std::string& db) {
    const long before = beats(db);
    return eventually([&] { return beats(db) > before + 2; });
}

// A plinth run on a fresh database with `stems` beside steady; `extra` arguments appended.
struct Scenario {
    explicit Scenario(const std::vector<std::string>& stems, std::vector<std::string> extra = {})
        : db(TestCluster::instance().fresh_database()), ready(dir.path() / "ready") {
        args = {"run", "--plugins", plugin_folder(dir, stems).string(), "--database-url", db, "--ready-file",
                ready.string()};
        args.insert(args.end(), extra.begin(), extra.end());
    }
    TempDir dir;
    std::string db;
    std::filesystem::path ready;
    std::vector<std::string> args;
};

// Runs plinth until steady alone runs and writes rows (the plugin beside it has been handled by
// then), stops it with SIGTERM, requires a clean exit and returns what it printed.
std::string output_beside_steady(const Scenario& s, const std::filesystem::path& log,
                                 const std::map<std::string, std::string>& env = {}) {
    PlinthProcess plinth(s.args, env, log);
    REQUIRE_MESSAGE(eventually([&] { return has(plinth.output(), "plinth is ready: 1 plugin running (steady)"); }),
                    plinth.output());
    CHECK(steady_runs(s.db));
    plinth.signal(SIGTERM);
    REQUIRE_MESSAGE(plinth.wait() == 0, plinth.output());
    return plinth.output();
}

}  // namespace

TEST_CASE("supervised: a segfault in init names the plugin and SIGSEGV, disables it and its dependent; steady runs") {
    Scenario s({"crash_init", "after_crash"});
    {
        PlinthProcess plinth(s.args, {}, s.dir.path() / "lenient.log");
        REQUIRE_MESSAGE(eventually([&] { return has(plinth.output(), "plinth is ready"); }), plinth.output());
        CHECK(steady_runs(s.db));
        plinth.signal(SIGTERM);
        REQUIRE_MESSAGE(plinth.wait() == 0, plinth.output());
        const auto out = plinth.output();
        CHECK_MESSAGE(has(out, "[plinth] [error] plugin \"crash-init\" failed in init: killed by SIGSEGV"), out);
        CHECK_MESSAGE(has(out, "/crash_init.so+0x"), out);  // the faulting address, in its library
        CHECK(has(out, "; it is disabled"));
        CHECK(has(out, "restarting the plugins' worker in 500 ms, without crash-init (restart 1)"));
        CHECK(has(out, "plugin \"after-crash\" is not started: it depends on \"crash-init\", which is disabled"));
        CHECK_MESSAGE(has(out, "plinth is ready: 1 plugin running (steady); 2 disabled (crash-init: init failed: killed "
                               "by SIGSEGV"),
                      out);
        CHECK(has(out, "; after-crash: it depends on \"crash-init\", which is disabled)"));
        CHECK(has(out, "stopped plugin \"steady\""));
        CHECK(has(out, "plinth stopped"));
    }
    auto strict = s.args;
    strict[4] = TestCluster::instance().fresh_database();
    strict.push_back("--strict");
    PlinthProcess plinth(strict, {}, s.dir.path() / "strict.log");
    REQUIRE_MESSAGE(plinth.wait() == 1, plinth.output());
    const auto out = plinth.output();
    CHECK(has(out, "plugin \"crash-init\" failed in init: killed by SIGSEGV"));
    CHECK(has(out, "stopping: --strict, and a plugin failed"));
    CHECK_FALSE(has(out, "restarting"));
}

TEST_CASE("supervised: abort() in start names the plugin and SIGABRT and disables it; steady runs") {
    Scenario s({"abort_start"});
    const auto out = output_beside_steady(s, s.dir.path() / "abort.log");
    CHECK_MESSAGE(has(out, "plugin \"abort-start\" failed in start: killed by SIGABRT"), out);
    CHECK(has(out, "1 disabled (abort-start: start failed: killed by SIGABRT"));
}

TEST_CASE("supervised: a crash in a plugin's own thread while running is traced to its library and disabled") {
    Scenario s({"crash_thread"});
    // The thread crashes once the ready file exists: while running.
    const auto out =
        output_beside_steady(s, s.dir.path() / "thread.log", {{"PLINTH_CRASH_THREAD_CRASH_WHEN", s.ready.string()}});
    // Steady was running too when it happened: only the address tells whose code faulted.
    CHECK_MESSAGE(has(out, "plugin \"crash-thread\" failed in running: killed by SIGSEGV (Segmentation fault) at 0x"),
                  out);
    CHECK_MESSAGE(has(out, "/crash_thread.so+0x"), out);
}

TEST_CASE("supervised: a stack overflow in a plugin's own thread is reported on its alternate stack and traced") {
    Scenario s({"overflow_thread"});
    const auto out = output_beside_steady(s, s.dir.path() / "overflow.log",
                                          {{"PLINTH_OVERFLOW_THREAD_CRASH_WHEN", s.ready.string()}});
    // Without an alternate stack of its own, the thread's fault kills the worker unreported.
    CHECK_MESSAGE(has(out, "plugin \"overflow-thread\" failed in running: killed by SIGSEGV (Segmentation fault) at 0x"),
                  out);
    CHECK_MESSAGE(has(out, "/overflow_thread.so+0x"), out);
}

TEST_CASE("supervised: abort() in a plugin's own thread while running is traced through its stack and disabled") {
    Scenario s({"abort_thread"});
    const auto out =
        output_beside_steady(s, s.dir.path() / "abort.log", {{"PLINTH_ABORT_THREAD_CRASH_WHEN", s.ready.string()}});
    // The fault is in libc; the innermost plugin frame on the thread's stack names the plugin.
    CHECK_MESSAGE(has(out, "plugin \"abort-thread\" failed in running: killed by SIGABRT (Aborted) at 0x"), out);
    CHECK_MESSAGE(has(out, ", called from "), out);
    CHECK_MESSAGE(has(out, "/abort_thread.so+0x"), out);
}

TEST_CASE("supervised: a segfault in stop is named; plinth exits 1 without a crash of its own") {
    Scenario s({"crash_stop"});
    PlinthProcess plinth(s.args, {}, s.dir.path() / "stop.log");
    REQUIRE_MESSAGE(eventually([&] { return file_exists(s.ready); }), plinth.output());
    plinth.signal(SIGTERM);
    REQUIRE_MESSAGE(plinth.wait() == 1, plinth.output());
    const auto out = plinth.output();
    CHECK_MESSAGE(has(out, "plugin \"crash-stop\" failed in stop: killed by SIGSEGV"), out);
    CHECK(has(out, "exiting without stopping the remaining plugins"));
}

TEST_CASE("supervised: exit(3) in init is named with its status and disabled; steady runs") {
    Scenario s({"exit_init"});
    const auto out = output_beside_steady(s, s.dir.path() / "exit.log");
    CHECK_MESSAGE(has(out, "plugin \"exit-init\" failed in init: the process exited with status 3; it is disabled"),
                  out);
}

TEST_CASE("supervised: an init that never returns is hung after --init-timeout, killed and disabled; steady runs") {
    Scenario s({"hang_init"}, {"--init-timeout", "0.5"});
    const auto out = output_beside_steady(s, s.dir.path() / "hang.log");
    CHECK_MESSAGE(has(out, "plugin \"hang-init\" failed in init: did not return from init within 500 ms; "
                           "killed the plugins' worker; it is disabled"),
                  out);
}

TEST_CASE("supervised: SIGTERM during an init that never returns ends plinth within --stop-timeout") {
    Scenario s({"hang_init"}, {"--init-timeout", "600", "--stop-timeout", "0.5"});
    PlinthProcess plinth(s.args, {}, s.dir.path() / "term.log");
    REQUIRE_MESSAGE(eventually([&] { return has(plinth.output(), "[hang-init] [info] init"); }), plinth.output());
    plinth.signal(SIGTERM);
    // Generous, far below the init bound: without the bound after SIGTERM it never ends.
    REQUIRE_MESSAGE(plinth.wait(30s) == 1, plinth.output());
    CHECK_MESSAGE(has(plinth.output(), "plugin \"hang-init\" failed in init: did not return from init within 500 ms "
                                       "of SIGTERM; killed the plugins' worker"),
                  plinth.output());
}

TEST_CASE("supervised: a stop that hangs while plinth runs is killed, named and disabled; the others run on") {
    // beta fails in start; gamma requires beta, so it is stopped then, and hangs in that stop.
    TempDir dir;
    PlinthProcess plinth({"run", "--plugins", required_env("PLINTH_TEST_HOST_PLUGINS_DIR"), "--database-url",
                          TestCluster::instance().fresh_database(), "--stop-timeout", "0.5"},
                         {{"PLINTH_BETA_FAIL", "start"}, {"PLINTH_GAMMA_STOP_SLEEP_MS", "600000"}},
                         dir.path() / "stop-hang.log");
    REQUIRE_MESSAGE(eventually([&] { return has(plinth.output(), "plinth is ready: 2 plugins running (alpha, delta)"); }),
                    plinth.output());
    plinth.signal(SIGTERM);
    REQUIRE_MESSAGE(plinth.wait() == 0, plinth.output());
    const auto out = plinth.output();
    CHECK_MESSAGE(has(out, "plugin \"gamma\" failed in stop: did not return from stop within 500 ms; killed the "
                           "plugins' worker; it is disabled"),
                  out);
    CHECK(has(out, "restarting the plugins' worker in 500 ms, without beta, gamma (restart 1)"));
    CHECK(has(out, "plinth stopped"));
}

TEST_CASE("load probe: a library that ends the process in its constructors or entry function is refused by file "
          "and phase; check and migrate --strict exit 1, run runs steady") {
    TempDir dir;
    const auto folder = plugin_folder(dir, {"abort_ctor", "crash_ctor", "crash_entry", "exit_ctor"});
    const auto file = [&](const std::string& stem) { return (folder / (stem + ".so")).string(); };
    const std::vector<std::string> refused{
        file("abort_ctor") + ": failed in load (its library constructors): killed by SIGABRT",
        file("crash_ctor") + ": failed in load (its library constructors): killed by SIGSEGV",
        file("crash_entry") + ": failed in load (plinth_plugin_entry_v1 or the descriptor it returned): killed by SIGSEGV",
        file("exit_ctor") + ": failed in load (its library constructors): the process exited with status 0",
    };
    {
        PlinthProcess check({"check", "--plugins", folder.string()}, {}, dir.path() / "check.log");
        REQUIRE_MESSAGE(check.wait() == 1, check.output());
        for (const auto& r : refused) CHECK_MESSAGE(has(check.output(), r), check.output());
        CHECK_MESSAGE(has(check.output(), "1 valid plugin"), check.output());
    }
    const auto db = TestCluster::instance().fresh_database();
    {
        PlinthProcess migrate({"migrate", "--strict", "--plugins", folder.string(), "--database-url", db}, {},
                              dir.path() / "migrate.log");
        REQUIRE_MESSAGE(migrate.wait() == 1, migrate.output());
        for (const auto& r : refused) CHECK_MESSAGE(has(migrate.output(), "refused " + r), migrate.output());
    }
    const auto ready = dir.path() / "ready";
    PlinthProcess plinth({"run", "--plugins", folder.string(), "--database-url", db, "--ready-file", ready.string()}, {},
                         dir.path() / "run.log");
    REQUIRE_MESSAGE(eventually([&] { return has(plinth.output(), "plinth is ready: 1 plugin running (steady)"); }),
                    plinth.output());
    CHECK(steady_runs(db));
    plinth.signal(SIGTERM);
    REQUIRE_MESSAGE(plinth.wait() == 0, plinth.output());
    for (const auto& r : refused) CHECK_MESSAGE(has(plinth.output(), "[warning] refused " + r), plinth.output());
}

TEST_CASE("load probe: a library constructor that never returns is refused after --init-timeout; steady runs") {
    Scenario s({"hang_ctor"}, {"--init-timeout", "0.5"});
    const auto out = output_beside_steady(s, s.dir.path() / "hang.log");
    CHECK_MESSAGE(has(out, "/hang_ctor.so: failed in load (its library constructors): did not return within 500 ms; "
                           "not loaded"),
                  out);
}

TEST_CASE("load probe: SIGTERM while a library constructor hangs ends plinth at once") {
    Scenario s({"hang_ctor"}, {"--init-timeout", "600"});
    PlinthProcess plinth(s.args, {}, s.dir.path() / "term.log");
    REQUIRE_MESSAGE(eventually([&] { return has(plinth.output(), "hang_ctor: a constructor that never returns"); }),
                    plinth.output());
    plinth.signal(SIGTERM);
    REQUIRE_MESSAGE(plinth.wait(30s) == 0, plinth.output());
    CHECK_MESSAGE(has(plinth.output(), "received SIGTERM while loading the plugins; stopping"), plinth.output());
}

TEST_CASE("--no-load-probe: a library constructor's exit(0) is still named by the loader, and check exits 1") {
    TempDir dir;
    const auto folder = plugin_folder(dir, {"exit_ctor"});
    PlinthProcess plinth({"check", "--no-load-probe", "--plugins", folder.string()}, {}, dir.path() / "check.log");
    REQUIRE_MESSAGE(plinth.wait() == 1, plinth.output());
    CHECK_MESSAGE(has(plinth.output(), "plinth: the plugin library " + (folder / "exit_ctor.so").string() +
                                           " ended the process while it was being loaded (exit() in a "
                                           "constructor or in its entry function)"),
                  plinth.output());
}

TEST_CASE("supervised: a disabled plugin whose file changes is loaded again by a restart of plinth, same pid") {
    Scenario s({"crash_init"});
    PlinthProcess plinth(s.args, {}, s.dir.path() / "replaced.log");
    REQUIRE_MESSAGE(eventually([&] { return has(plinth.output(), "plinth is ready: 1 plugin running (steady); 1 disabled"); }),
                    plinth.output());
    // A new build lands as builds do: written beside, renamed over. Here it holds the healthy "delta".
    const std::filesystem::path folder(s.args[2]);
    std::filesystem::copy_file(std::filesystem::path(required_env("PLINTH_TEST_HOST_PLUGINS_DIR")) / "delta.so",
                               folder / "crash_init.so.new");
    std::filesystem::rename(folder / "crash_init.so.new", folder / "crash_init.so");
    REQUIRE_MESSAGE(eventually([&] { return has(plinth.output(), "plinth is ready: 2 plugins running"); }),
                    plinth.output());
    CHECK(steady_runs(s.db));
    plinth.signal(SIGTERM);
    REQUIRE_MESSAGE(plinth.wait() == 0, plinth.output());
    const auto out = plinth.output();
    CHECK_MESSAGE(has(out, "the file of disabled plugin \"crash-init\" changed (" + (folder / "crash_init.so").string() +
                           "); stopping the plugins to restart plinth"),
                  out);
    CHECK(has(out, "restarting plinth (same process id)"));
    CHECK(has(out, "plinth stopped"));
}

TEST_CASE("supervised on the embedded server: a crash in init leaves no orphan server, lenient or --strict") {
    TempDir dir;
    const TempDir data;  // made here, so handed to the server's user, who cannot enter `dir`
    const auto folder = plugin_folder(dir, {"crash_init"});
    const auto data_dir = data.path();
    // Whatever happens below, the server started here is stopped before its folder goes.
    struct StopServer {
        std::filesystem::path data_dir;
        TempDir& logs;
        ~StopServer() {
            PlinthProcess stop({"db", "stop", "--data-dir", data_dir.string()}, {}, logs.path() / "stop.log");
            stop.wait();
        }
    } stop_server{data_dir, dir};
    const auto server_runs = [&] {
        PlinthProcess status({"db", "status", "--data-dir", data_dir.string()}, {}, dir.path() / "status.log");
        return status.wait() == 0;
    };
    const std::vector<std::string> args{"run", "--plugins", folder.string(), "--data-dir", data_dir.string()};
    {
        PlinthProcess plinth(args, {}, dir.path() / "lenient.log");
        REQUIRE_MESSAGE(eventually([&] { return has(plinth.output(), "plinth is ready: 1 plugin running (steady)"); },
                                   120s),
                        plinth.output());
        CHECK(has(plinth.output(), "plugin \"crash-init\" failed in init: killed by SIGSEGV"));
        plinth.signal(SIGTERM);
        REQUIRE_MESSAGE(plinth.wait() == 0, plinth.output());
        CHECK_MESSAGE(has(plinth.output(), "no plinth process uses the embedded server any more; stopping it"),
                      plinth.output());
        CHECK_FALSE(server_runs());
    }
    auto strict = args;
    strict.push_back("--strict");
    PlinthProcess plinth(strict, {}, dir.path() / "strict.log");
    REQUIRE_MESSAGE(plinth.wait(120s) == 1, plinth.output());
    CHECK(has(plinth.output(), "stopping: --strict, and a plugin failed"));
    CHECK_FALSE(server_runs());
}
