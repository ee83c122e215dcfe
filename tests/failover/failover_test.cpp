// A highly available PostgreSQL under plinth: a real primary and hot standby (ReplicaPair), the
// standby promoted with pg_ctl promote after the primary is stopped. Covers a standby refused
// before anything, the host API across a failover, and a migration whose COMMIT the failover cut.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#include <plinth/plinth_plugin.h>
#include <spdlog/spdlog.h>

#include "apply/journal.hpp"
#include "apply/migrate.hpp"
#include "host/host_context.hpp"
#include "pg_fixture.hpp"
#include "pipeline/plugin_set.hpp"
#include "../host/support.hpp"

using namespace std::chrono_literals;
using plinth::hosting::ConnectionPool;
using plinth::hosting::PluginConfig;
using plinth::hosting::PluginContext;
using plinth::test::CapturedLogs;
using plinth::test::ReplicaPair;

namespace {

plinth::pipeline::PluginSet shipped_plugins() {
    const char* dir = std::getenv("PLINTH_TEST_PLUGINS_DIR");
    REQUIRE_MESSAGE(dir != nullptr, "PLINTH_TEST_PLUGINS_DIR is not set; run with meson test");
    auto set = plinth::pipeline::load_plugin_set({dir});
    REQUIRE(set.all_valid());
    return set;
}

spdlog::logger& quiet() {
    static spdlog::logger log("failover-test");  // no sinks: the tests read outcomes
    return log;
}

// One call through the C ABI, as a plugin makes it: the status and, on failure, the SQLSTATE and message.
struct Call {
    bool ok = false;
    std::string sqlstate;
    std::string message;
    std::string first_value;
};

Call query(const plinth_host* h, const std::string& sql, plinth_db_tx* tx = nullptr) {
    plinth_db_result* result = nullptr;
    plinth_db_error* error = nullptr;
    Call call;
    call.ok = h->db_query(h, tx, sql.c_str(), 0, nullptr, &result, &error) == PLINTH_OK;
    if (error) {
        call.sqlstate = error->sqlstate;
        call.message = error->message;
        CHECK(PLINTH_DB_IS_CONNECTION_ERROR(error) == (call.sqlstate.rfind("08", 0) == 0));
    }
    if (result && result->row_count > 0 && result->column_count > 0 && result->values[0]) call.first_value = result->values[0];
    h->db_result_free(h, result);
    h->db_error_free(h, error);
    return call;
}

bool server_runs(const std::string& conninfo, const std::string& sql) {
    try {
        auto c = plinth::pg::Connection::open(conninfo);
        return c.exec(sql).text(0, 0) == "t";
    } catch (const plinth::pg::Error&) {
        return false;
    }
}

}  // namespace

TEST_CASE("migrating against a standby is refused before anything, saying how to reach the primary") {
    ReplicaPair pair;
    const auto db = pair.fresh_database();
    auto standby = plinth::pg::Connection::open(pair.standby_conninfo(db));
    auto set = shipped_plugins();
    std::string message;
    try {
        plinth::apply::migrate(standby, set, {}, quiet());
        FAIL("a migration against a standby must be refused");
    } catch (const plinth::apply::MigrationError& e) {
        message = e.what();
    }
    CHECK(message.find("is a standby") != std::string::npos);
    CHECK(message.find("target_session_attrs=read-write") != std::string::npos);
    CHECK(message.find("docs/deploying.md") != std::string::npos);
    // The cluster URL reaches the primary, where the migration works.
    auto primary = plinth::pg::Connection::open(pair.cluster_conninfo(db));
    CHECK(primary.exec("SELECT pg_is_in_recovery()").text(0, 0) == "f");
    CHECK(plinth::apply::migrate(primary, set, {}, quiet()).migration_id > 0);
}

TEST_CASE("a read-only session is refused before anything, and nothing is written") {
    auto& cluster = plinth::test::TestCluster::instance();
    const auto conninfo = cluster.fresh_database();
    {
        auto admin = plinth::pg::Connection::open(conninfo);
        admin.exec("ALTER DATABASE " + admin.quote_identifier(admin.exec("SELECT current_database()").text(0, 0)) +
                   " SET default_transaction_read_only = on");
    }
    auto conn = plinth::pg::Connection::open(conninfo);
    auto set = shipped_plugins();
    CHECK_THROWS_WITH_AS(plinth::apply::migrate(conn, set, {}, quiet()),
                         doctest::Contains("is read-only (default_transaction_read_only is on)"),
                         plinth::apply::MigrationError);
    CHECK(conn.exec("SELECT to_regnamespace('plinth') IS NULL").text(0, 0) == "t");
}

TEST_CASE("an idle pooled connection the server closed is replaced, not handed to the caller") {
    auto& cluster = plinth::test::TestCluster::instance();
    CapturedLogs logs;
    auto pool = std::make_shared<ConnectionPool>(cluster.fresh_database(), 1, 30s, logs.logging().logger("plinth"));
    auto context = std::make_shared<PluginContext>("demo", logs.logging().logger("demo"), PluginConfig{}, pool);
    const plinth_host* h = context->raw();
    const auto pid = query(h, "SELECT pg_backend_pid()");
    REQUIRE(pid.ok);
    auto admin = plinth::pg::Connection::open(cluster.admin_conninfo());
    admin.exec_params("SELECT pg_terminate_backend($1::int, 10000)", {pid.first_value});
    const auto after = query(h, "SELECT pg_backend_pid()");
    CHECK_MESSAGE(after.ok, after.sqlstate << " " << after.message);
    CHECK(after.first_value != pid.first_value);
    CHECK(logs.contains("dropped a pooled database connection the server had closed"));
}

TEST_CASE("across a failover the host API keeps serving: in-flight calls fail as lost connections, no acknowledged write is lost") {
    ReplicaPair pair;
    const auto db = pair.fresh_database();
    plinth::pg::Connection::open(pair.primary_conninfo(db)).exec("CREATE TABLE writes (id bigint PRIMARY KEY)");
    pair.wait_for_standby();

    CapturedLogs logs;
    auto pool = std::make_shared<ConnectionPool>(pair.cluster_conninfo(db), 4, 60s, logs.logging().logger("plinth"));
    auto context = std::make_shared<PluginContext>("writer", logs.logging().logger("writer"), PluginConfig{}, pool);
    const plinth_host* h = context->raw();

    std::mutex mu;
    std::vector<long> acknowledged;
    std::vector<std::string> unexpected;
    std::atomic<long> lost{0};
    std::atomic<bool> stop{false};
    std::thread writer([&] {
        for (long id = 1; !stop; ++id) {
            const auto call = query(h, "INSERT INTO writes VALUES (" + std::to_string(id) + ")");
            std::lock_guard lock(mu);
            if (call.ok)
                acknowledged.push_back(id);
            else if (call.sqlstate == PLINTH_DB_CONNECTION_LOST)
                ++lost;
            else
                unexpected.push_back(call.sqlstate + " " + call.message);
            std::this_thread::sleep_for(2ms);
        }
    });
    const auto acknowledged_count = [&] {
        std::lock_guard lock(mu);
        return acknowledged.size();
    };

    // A call in flight during the failover, and a transaction open across it.
    Call sleeper;
    std::atomic<bool> sleeper_done{false};
    std::thread sleeping([&] {
        sleeper = query(h, "SELECT pg_sleep(120)");
        sleeper_done = true;
    });
    plinth_db_tx* tx = nullptr;
    REQUIRE(h->db_begin(h, nullptr, &tx, nullptr) == PLINTH_OK);
    REQUIRE(query(h, "INSERT INTO writes VALUES (-1)", tx).ok);

    REQUIRE(plinth::test::eventually([&] {
        return server_runs(pair.primary_conninfo(db),
                           "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(120)%')");
    }));
    REQUIRE(plinth::test::eventually([&] { return acknowledged_count() >= 20; }));

    pair.stop_primary();
    // Bounded by the generous limit of eventually(), never by the 120 s of the statement.
    CHECK(plinth::test::eventually([&] { return sleeper_done.load(); }, 60s));
    sleeping.join();
    CHECK_MESSAGE(sleeper.sqlstate == PLINTH_DB_CONNECTION_LOST, sleeper.sqlstate << " " << sleeper.message);
    CHECK(sleeper.message.find("connection to the database was lost") != std::string::npos);
    const auto in_tx = query(h, "INSERT INTO writes VALUES (-2)", tx);
    CHECK(in_tx.sqlstate == PLINTH_DB_CONNECTION_LOST);
    CHECK(h->db_rollback(h, tx, nullptr) == PLINTH_OK);

    const auto before_promotion = acknowledged_count();
    pair.promote_standby();
    CHECK(plinth::test::eventually([&] { return acknowledged_count() >= before_promotion + 20; }, 120s));
    stop = true;
    writer.join();

    // The same context, after the failover: transactions work again.
    REQUIRE(h->db_begin(h, nullptr, &tx, nullptr) == PLINTH_OK);
    CHECK(query(h, "INSERT INTO writes VALUES (-3)", tx).ok);
    CHECK(h->db_commit(h, tx, nullptr) == PLINTH_OK);

    std::lock_guard lock(mu);
    for (const auto& u : unexpected) FAIL_CHECK("an error that is not a lost connection: " << u);
    auto promoted = plinth::pg::Connection::open(pair.standby_conninfo(db));
    std::string ids = "{";
    for (std::size_t i = 0; i < acknowledged.size(); ++i) ids += (i ? "," : "") + std::to_string(acknowledged[i]);
    ids += "}";
    const auto found = promoted.exec_params("SELECT count(*) FROM writes WHERE id = ANY($1::bigint[])", {ids}).text(0, 0);
    CHECK(found == std::to_string(acknowledged.size()));  // acknowledged writes lost: none
    CHECK(promoted.exec("SELECT count(*) FROM writes WHERE id IN (-1, -2)").text(0, 0) == "0");
    MESSAGE("writes acknowledged " << acknowledged.size() << ", failed as lost connections " << lost.load());
}

TEST_CASE("a migration whose COMMIT a failover cut is reported with its outcome, and the next start finishes from the journal") {
    ReplicaPair pair;
    const auto db = pair.fresh_database();
    {
        // The COMMIT waits for a synchronous standby that never answers: it is in flight when the
        // primary stops, committed locally and streamed to the standby, but never acknowledged.
        auto admin = plinth::pg::Connection::open(pair.primary_conninfo("postgres"));
        admin.exec("ALTER SYSTEM SET synchronous_standby_names = 'nobody'");
        admin.exec("SELECT pg_reload_conf()");
    }
    auto set = shipped_plugins();
    auto conn = plinth::pg::Connection::open(pair.cluster_conninfo(db) + " options='-c synchronous_commit=on'");
    plinth::apply::MigrateOptions options;
    options.reconnect = [&] { return plinth::pg::connect_with_retry(pair.cluster_conninfo(db), 60s, quiet()); };

    std::thread failover([&] {
        const bool waiting = plinth::test::eventually([&] {
            return server_runs(pair.primary_conninfo("postgres"),
                               "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE wait_event = 'SyncRep')");
        });
        CHECK(waiting);
        pair.stop_primary();
        pair.promote_standby();
    });
    std::string message;
    try {
        plinth::apply::migrate(conn, set, options, quiet());
        FAIL_CHECK("the COMMIT was expected to be cut");
    } catch (const plinth::apply::MigrationError& e) {
        message = e.what();
    }
    failover.join();
    CHECK(message.find("lost during the migration's COMMIT") != std::string::npos);
    CHECK_MESSAGE(message.find("it committed: the journal records migration") != std::string::npos, message);

    // The next start, on the new primary: the journal has it all; nothing is applied twice.
    auto promoted = plinth::pg::connect_with_retry(pair.cluster_conninfo(db), 60s, quiet());
    const auto next = plinth::apply::migrate(promoted, set, {}, quiet());
    CHECK(next.up_to_date_fast);
    CHECK(promoted.exec("SELECT count(*) FROM plinth.migrations").text(0, 0) == "1");
    CHECK(plinth::apply::current_plan(promoted, set).operations.empty());
}
