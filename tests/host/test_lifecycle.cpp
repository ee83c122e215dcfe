// The lifecycle over real plugin .so files (tests/host/plugins): alpha (C, owns alpha_items), beta
// requires alpha, gamma requires beta, delta is independent. Environment variables configure which
// one fails, as PLINTH_<PLUGIN>_<KEY> would for `plinth run`.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <stdexcept>
#include <thread>

#include <unistd.h>

#include "pipeline/plugin_set.hpp"
#include "host/lifecycle.hpp"
#include "pg_fixture.hpp"
#include "support.hpp"

using namespace std::chrono_literals;
using plinth::hosting::Config;
using plinth::hosting::ConnectionPool;
using plinth::hosting::Lifecycle;
using plinth::hosting::LifecycleOptions;
using plinth::hosting::PluginContext;
using plinth::hosting::StartOutcome;
using plinth::test::CapturedLogs;
using plinth::test::ScopedEnv;
using plinth::test::TestCluster;

namespace {

struct LifecycleRun {
    explicit LifecycleRun(LifecycleOptions options = {}) {
        set = plinth::pipeline::load_plugin_set({plinth::test::required_env("PLINTH_TEST_HOST_PLUGINS_DIR")});
        REQUIRE(set.all_valid());
        REQUIRE(set.validation.plugins.size() == 4);
        conn.emplace(plinth::pg::Connection::open(conninfo));
        pool = std::make_shared<ConnectionPool>(conninfo, 2, 30s, logs.logging().logger("plinth"));
        std::vector<std::shared_ptr<PluginContext>> contexts;
        for (const auto& p : set.validation.plugins)
            contexts.push_back(std::make_shared<PluginContext>(p.name, logs.logging().logger(p.name),
                                                               Config().for_plugin(p.name), pool));
        lifecycle.emplace(set.validation.plugins, set.ordering.plugins, std::move(contexts), options,
                          logs.logging().logger("plinth"));
    }

    // "alpha init", "beta start", ...: what the plugins logged about their own lifecycle.
    std::vector<std::string> events() const {
        static const std::regex event(R"(\] \[(\w+)\] \[info\] (init|start|stop)\s*$)");
        std::vector<std::string> out;
        for (const auto& line : logs.lines()) {
            std::smatch m;
            if (std::regex_search(line, m, event)) out.push_back(m[1].str() + " " + m[2].str());
        }
        return out;
    }
    long at(const std::string& event) const {
        const auto all = events();
        const auto it = std::find(all.begin(), all.end(), event);
        return it == all.end() ? -1 : static_cast<long>(it - all.begin());
    }
    std::size_t count(const std::string& event) const {
        const auto all = events();
        return static_cast<std::size_t>(std::count(all.begin(), all.end(), event));
    }

    CapturedLogs logs;
    std::string conninfo = TestCluster::instance().fresh_database();
    std::optional<plinth::pg::Connection> conn;
    plinth::pipeline::PluginSet set;
    std::shared_ptr<ConnectionPool> pool;
    std::optional<Lifecycle> lifecycle;
};

std::vector<std::string> sorted(std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
}

}  // namespace

TEST_CASE("every plugin is initialised in dependency order, then started, then stopped in reverse") {
    LifecycleRun run;
    REQUIRE(run.lifecycle->start() == StartOutcome::ready);
    CHECK(sorted(run.lifecycle->running()) == std::vector<std::string>{"alpha", "beta", "delta", "gamma"});
    CHECK(run.lifecycle->disabled().empty());
    CHECK(run.lifecycle->stop().empty());

    const auto events = run.events();
    REQUIRE(events.size() == 12);
    // All inits, then all starts in the same order, then all stops in the reverse order.
    std::vector<std::string> inits, starts, stops;
    for (std::size_t i = 0; i < 4; ++i) inits.push_back(events[i].substr(0, events[i].find(' ')));
    for (std::size_t i = 4; i < 8; ++i) starts.push_back(events[i].substr(0, events[i].find(' ')));
    for (std::size_t i = 8; i < 12; ++i) stops.push_back(events[i].substr(0, events[i].find(' ')));
    for (std::size_t i = 0; i < 4; ++i) {
        CHECK(events[i].ends_with(" init"));
        CHECK(events[4 + i].ends_with(" start"));
        CHECK(events[8 + i].ends_with(" stop"));
    }
    CHECK(starts == inits);
    CHECK(std::vector<std::string>(stops.rbegin(), stops.rend()) == starts);
    CHECK(run.at("alpha init") < run.at("beta init"));
    CHECK(run.at("beta init") < run.at("gamma init"));
    // alpha's start went through the C database functions.
    CHECK(run.logs.contains("[alpha] [info] answer = 42, nothing is NULL"));
    CHECK(run.logs.position("started plugin \"alpha\" 1.0.0") < run.logs.position("started plugin \"beta\" 1.0.0"));
}

TEST_CASE("a plugin whose init reports an error is disabled with its dependents; the others run") {
    ScopedEnv fail("PLINTH_ALPHA_FAIL", "init");
    LifecycleRun run;
    REQUIRE(run.lifecycle->start() == StartOutcome::ready);
    CHECK(run.lifecycle->running() == std::vector<std::string>{"delta"});
    CHECK(run.logs.contains("[plinth] [error] plugin \"alpha\" failed in init: configured to fail in init"));
    CHECK(run.logs.contains("plugin \"beta\" is not started: it depends on \"alpha\", which is disabled"));
    CHECK(run.logs.contains("plugin \"gamma\" is not started: it depends on \"alpha\", which is disabled"));
    const auto disabled = run.lifecycle->disabled();
    CHECK(std::find(disabled.begin(), disabled.end(), "alpha: init failed: configured to fail in init") != disabled.end());
    CHECK(disabled.size() == 3);
    CHECK(run.count("beta init") == 0);
    CHECK(run.count("gamma init") == 0);

    CHECK(run.lifecycle->stop().empty());
    CHECK(run.count("delta stop") == 1);
    CHECK(run.count("alpha stop") == 0);  // init failed: nothing to stop
}

TEST_CASE("a plugin throwing in start is stopped and disabled; its dependents are stopped, never started") {
    ScopedEnv fail("PLINTH_BETA_FAIL", "start");
    LifecycleRun run;
    REQUIRE(run.lifecycle->start() == StartOutcome::ready);
    CHECK(sorted(run.lifecycle->running()) == std::vector<std::string>{"alpha", "delta"});
    CHECK(run.logs.contains("plugin \"beta\" failed in start: configured to fail in start"));
    CHECK(run.count("gamma init") == 1);
    CHECK(run.count("gamma start") == 0);
    // Dependents first, then the failed plugin itself.
    CHECK(run.at("beta start") < run.at("gamma stop"));
    CHECK(run.at("gamma stop") < run.at("beta stop"));

    CHECK(run.lifecycle->stop().empty());
    CHECK(run.count("gamma stop") == 1);
    CHECK(run.count("beta stop") == 1);
    CHECK(run.count("alpha stop") == 1);
    CHECK(run.count("delta stop") == 1);
}

TEST_CASE("strict: the first failure ends the start; what was initialised is stopped") {
    ScopedEnv fail("PLINTH_BETA_FAIL", "init");
    LifecycleRun run({.strict = true});
    CHECK(run.lifecycle->start() == StartOutcome::failed);
    CHECK(run.lifecycle->running().empty());
    CHECK(run.count("gamma init") == 0);
    CHECK(run.lifecycle->stop().empty());
    CHECK(run.count("alpha stop") == 1);
    CHECK(run.count("beta stop") == 0);
}

TEST_CASE("a plugin hanging in stop is abandoned after the stop timeout; the others still stop") {
    ScopedEnv slow("PLINTH_DELTA_STOP_SLEEP_MS", "3000");
    LifecycleRun run({.strict = false, .stop_timeout = 200ms});
    REQUIRE(run.lifecycle->start() == StartOutcome::ready);
    CHECK(run.lifecycle->stop() == std::vector<std::string>{"delta"});
    CHECK(run.logs.contains(
        "plugin \"delta\" did not stop within 200 ms; abandoning it (its thread is left running until plinth exits)"));
    for (const char* name : {"alpha", "beta", "gamma"}) CHECK(run.count(std::string(name) + " stop") == 1);
    // The abandoned thread still has its host: it finishes on its own.
    CHECK(plinth::test::eventually([&] { return run.logs.contains("[delta] [info] stop finished"); }));
}

TEST_CASE("a plugin whose tables are missing is not started, nor are its dependents") {
    LifecycleRun run;
    CHECK(run.lifecycle->disable_missing_tables(*run.conn) == 1);
    CHECK(run.logs.contains(
        "plugin \"alpha\" is not started: its table public.alpha_items is missing from the database"));
    REQUIRE(run.lifecycle->start() == StartOutcome::ready);
    CHECK(run.lifecycle->running() == std::vector<std::string>{"delta"});
    CHECK(run.count("alpha init") == 0);
    CHECK(run.count("beta init") == 0);
    run.lifecycle->stop();

    LifecycleRun with_table;
    with_table.conn->exec("CREATE TABLE public.alpha_items (id integer PRIMARY KEY)");
    CHECK(with_table.lifecycle->disable_missing_tables(*with_table.conn) == 0);
}

TEST_CASE("a stop requested during start-up ends it; what was initialised is stopped") {
    LifecycleRun run;
    int asked = 0;
    CHECK(run.lifecycle->start([&] { return ++asked > 2; }) == StartOutcome::interrupted);
    CHECK(run.events().size() == 2);  // two inits
    CHECK(run.lifecycle->running().empty());
    run.lifecycle->stop();
    CHECK(run.events().size() == 4);  // and their stops
}

TEST_CASE("a dependent hanging in the stop its dependency's failure causes stays abandoned; stop() reports it") {
    // beta fails in start, so gamma (which requires beta) is stopped at once, and hangs there.
    ScopedEnv fail("PLINTH_BETA_FAIL", "start");
    ScopedEnv slow("PLINTH_GAMMA_STOP_SLEEP_MS", "3000");
    LifecycleRun run({.strict = false, .stop_timeout = 200ms});
    REQUIRE(run.lifecycle->start() == StartOutcome::ready);
    CHECK(run.logs.contains(
        "plugin \"gamma\" did not stop within 200 ms; abandoning it (its thread is left running until plinth exits)"));
    CHECK(sorted(run.lifecycle->running()) == std::vector<std::string>{"alpha", "delta"});
    const auto disabled = run.lifecycle->disabled();
    CHECK(std::find(disabled.begin(), disabled.end(), "gamma: it depends on \"beta\", which is disabled") !=
          disabled.end());
    CHECK(std::find(disabled.begin(), disabled.end(), "beta: start failed: configured to fail in start") !=
          disabled.end());

    // Not forgotten: its thread may still be in plugin code, so the caller must not unload anything.
    CHECK(run.lifecycle->stop() == std::vector<std::string>{"gamma"});
    CHECK(run.count("gamma stop") == 1);  // asked once, never again
    for (const char* name : {"alpha", "beta", "delta"}) CHECK(run.count(std::string(name) + " stop") == 1);
    CHECK(plinth::test::eventually([&] { return run.logs.contains("[gamma] [info] stop finished"); }));
}

namespace {

// Plugins written in C++ without the SDK, whose lifecycle functions let exceptions out.
std::uint32_t init_ok(const plinth_host*, void**) { return PLINTH_OK; }
std::uint32_t init_throws(const plinth_host*, void**) { throw std::runtime_error("from init"); }
std::uint32_t start_ok(const plinth_host*, void*) { return PLINTH_OK; }
std::uint32_t start_throws(const plinth_host*, void*) { throw 42; }  // not even a std::exception
std::uint32_t stop_ok(const plinth_host*, void*) { return PLINTH_OK; }
std::uint32_t stop_throws(const plinth_host*, void*) { throw std::logic_error("from stop"); }

plinth::model::Plugin raw_plugin(std::string name, plinth_init_fn init, plinth_start_fn start, plinth_stop_fn stop) {
    plinth::model::Plugin p;
    p.name = std::move(name);
    p.version = "1.0.0";
    p.lifecycle.init = init;
    p.lifecycle.start = start;
    p.lifecycle.stop = stop;
    return p;
}

}  // namespace

TEST_CASE("a C++ exception escaping a plugin's init, start or stop is that step's failure, not a crash") {
    CapturedLogs logs;
    const std::vector<plinth::model::Plugin> plugins{
        raw_plugin("throws-in-init", init_throws, start_ok, stop_ok),
        raw_plugin("throws-in-start", init_ok, start_throws, stop_ok),
        raw_plugin("throws-in-stop", init_ok, start_ok, stop_throws),
    };
    // No plugin touches the database: the pool never opens a connection.
    const auto pool = std::make_shared<ConnectionPool>("", 1, 1s, logs.logging().logger("plinth"));
    std::vector<std::shared_ptr<PluginContext>> contexts;
    for (const auto& p : plugins)
        contexts.push_back(std::make_shared<PluginContext>(p.name, logs.logging().logger(p.name),
                                                           Config().for_plugin(p.name), pool));
    Lifecycle lifecycle(plugins, {0, 1, 2}, std::move(contexts), {}, logs.logging().logger("plinth"));

    REQUIRE(lifecycle.start() == StartOutcome::ready);
    CHECK(lifecycle.running() == std::vector<std::string>{"throws-in-stop"});
    CHECK(lifecycle.disabled() ==
          std::vector<std::string>{"throws-in-init: init failed: threw a C++ exception across the plugin ABI",
                                   "throws-in-start: start failed: threw a C++ exception across the plugin ABI"});
    CHECK(logs.contains("plugin \"throws-in-init\" failed in init: threw a C++ exception across the plugin ABI"));
    CHECK(logs.contains("plugin \"throws-in-start\" failed in start: threw a C++ exception across the plugin ABI"));
    CHECK(logs.contains("stopped plugin \"throws-in-start\""));  // its init succeeded

    // The stop runs on its own thread: uncaught there, the exception would be std::terminate.
    CHECK(lifecycle.stop().empty());
    CHECK(logs.contains("plugin \"throws-in-stop\" failed in stop: threw a C++ exception across the plugin ABI"));
}

TEST_CASE("a plugin thread that calls the host after stop is told so, and plinth does not crash") {
    // delta's thread keeps querying through stop and after the lifecycle, contexts and pool are
    // gone; several runs, since a use of freed memory need not crash every time.
    for (int attempt = 0; attempt < 5; ++attempt) {
        CAPTURE(attempt);
        const auto report = std::filesystem::temp_directory_path() /
                            ("plinth-late-" + std::to_string(::getpid()) + "-" + std::to_string(attempt));
        std::filesystem::remove(report);
        ScopedEnv late("PLINTH_DELTA_LATE_QUERIES", report.string());
        {
            LifecycleRun run;
            REQUIRE(run.lifecycle->start() == StartOutcome::ready);
            CHECK(run.lifecycle->stop().empty());
        }
        // Not a timing assertion: the thread ends after 100 refusals; this only bounds the wait.
        for (int waited = 0; waited < 600 && !std::filesystem::exists(report); ++waited)
            std::this_thread::sleep_for(100ms);
        std::ifstream in(report);
        std::string answer((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        CHECK(answer == "plinth has stopped this plugin");
        std::filesystem::remove(report);
    }
}

TEST_CASE("a plugin's error text is escaped inside plinth's line: it cannot forge records") {
    ScopedEnv fail("PLINTH_DELTA_FAIL", "start");
    ScopedEnv message("PLINTH_DELTA_FAIL_MESSAGE", "bad\n[2024-05-01T12:00:00.000+00:00] [plinth] [info] forged \x1b[31m");
    LifecycleRun run;
    REQUIRE(run.lifecycle->start() == StartOutcome::ready);
    CHECK(run.logs.contains("plugin \"delta\" failed in start: bad\\n[2024-05-01T12:00:00.000+00:00] [plinth] [info] "
                            "forged \\x1b[31m"));
    for (const auto& line : run.logs.lines()) CHECK(line.find('\n') == line.size() - 1);  // one line per record
    run.lifecycle->stop();
}
