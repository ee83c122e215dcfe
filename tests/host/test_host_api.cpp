// The host API as a plugin sees it: the C++ SDK (plinth::host, plinth::transaction) over the C ABI
// over the host's functions, against a real database.
#include <doctest/doctest.h>

#include <atomic>
#include <thread>

#include <plinth/plinth.hpp>

#include "host/host_context.hpp"
#include "pg_fixture.hpp"
#include "support.hpp"

using namespace std::chrono_literals;
using plinth::hosting::ConnectionPool;
using plinth::hosting::PluginConfig;
using plinth::hosting::PluginContext;
using plinth::test::CapturedLogs;
using plinth::test::TestCluster;

namespace {

// One plugin's host over a fresh database.
struct HostFixture {
    explicit HostFixture(std::size_t pool_size = 3, std::chrono::milliseconds checkout_timeout = 30s,
                         PluginConfig config = {})
        : pool(std::make_shared<ConnectionPool>(TestCluster::instance().fresh_database(), pool_size, checkout_timeout,
                                                logs.logging().logger("plinth"))),
          context(std::make_shared<PluginContext>("demo", logs.logging().logger("demo"), std::move(config), pool)),
          h(context->raw()) {}

    CapturedLogs logs;
    std::shared_ptr<ConnectionPool> pool;
    std::shared_ptr<PluginContext> context;
    plinth::host h;
};

template <class F>
plinth::db_error db_error_of(F&& f) {
    try {
        f();
    } catch (const plinth::db_error& e) {
        return e;
    }
    FAIL("expected a plinth::db_error");
    throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("queries return column names and rows of text, with SQL NULL as std::nullopt") {
    HostFixture f;
    CHECK(f.h.execute("CREATE TABLE items (id serial PRIMARY KEY, name text, qty integer)") == 0);
    CHECK(f.h.execute("INSERT INTO items (name, qty) VALUES ($1, $2)", {"apple", 3}) == 1);
    CHECK(f.h.execute("INSERT INTO items (name, qty) VALUES ($1, $2)", {"", std::nullopt}) == 1);
    CHECK(f.h.execute("INSERT INTO items (name, qty) VALUES ($1, $2)", {std::optional<std::string>(), 7}) == 1);

    const auto rows = f.h.query("SELECT id, name, qty FROM items ORDER BY id");
    CHECK(rows.columns() == std::vector<std::string>{"id", "name", "qty"});
    REQUIRE(rows.size() == 3);
    CHECK(rows.affected_rows() == 3);
    CHECK(rows[0] == plinth::result::row{"1", "apple", "3"});
    CHECK(rows[1][1] == "");  // an empty string is not NULL
    CHECK(rows[1][2] == std::nullopt);
    CHECK(rows.at(2, "name") == std::nullopt);
    CHECK(rows.at(2, "qty") == "7");
    CHECK_THROWS_WITH_AS(rows.at(0, "price"), "no column \"price\" in the result", std::out_of_range);

    CHECK(f.h.execute("UPDATE items SET qty = coalesce(qty, 0) + 1") == 3);
    CHECK(f.h.query("SELECT * FROM items WHERE false").empty());
}

TEST_CASE("parameters: numbers in decimal, booleans as true/false, strings verbatim, nullopt as NULL") {
    HostFixture f;
    const auto row = f.h.query("SELECT $1::int, $2::bigint, $3::bool, $4::float8, $5::text, $6::text IS NULL, $7::text",
                               {42, -9000000000LL, true, 2.5, "it's \"quoted\"", std::nullopt, std::string("x")})[0];
    CHECK(row == plinth::result::row{"42", "-9000000000", "t", "2.5", "it's \"quoted\"", "t", "x"});
}

TEST_CASE("database errors reach the plugin as plinth::db_error with SQLSTATE, message and detail") {
    HostFixture f;
    f.h.execute("CREATE TABLE items (id integer PRIMARY KEY)");
    f.h.execute("INSERT INTO items VALUES (1)");

    const auto duplicate = db_error_of([&] { f.h.execute("INSERT INTO items VALUES ($1)", {1}); });
    CHECK(duplicate.sqlstate() == "23505");
    CHECK(duplicate.message() == "duplicate key value violates unique constraint \"items_pkey\"");
    CHECK(duplicate.detail() == "Key (id)=(1) already exists.");
    CHECK(std::string(duplicate.what()) ==
          "ERROR 23505: duplicate key value violates unique constraint \"items_pkey\" (detail: Key (id)=(1) already exists.)");

    const auto missing = db_error_of([&] { f.h.query("SELECT * FROM nope"); });
    CHECK(missing.sqlstate() == "42P01");
    CHECK(missing.message() == "relation \"nope\" does not exist");

    CHECK(db_error_of([&] { f.h.query("SELEKT 1"); }).sqlstate() == "42601");
    // Parameterized statements are single statements.
    CHECK(db_error_of([&] { f.h.query("SELECT 1; SELECT 2"); }).sqlstate() == "42601");
    // The pool is still fine afterwards.
    CHECK(f.h.query("SELECT count(*) FROM items")[0][0] == "1");
}

TEST_CASE("a lost connection is an error for that call only: the pool opens a new one") {
    HostFixture f(1);
    const auto lost = db_error_of([&] { f.h.query("SELECT pg_terminate_backend(pg_backend_pid())"); });
    CHECK_FALSE(lost.sqlstate().empty());  // 57P01 or, when libpq sees the socket close first, 08006
    CHECK(f.h.query("SELECT 1")[0][0] == "1");
}

TEST_CASE("transactions commit, roll back when not committed, and are isolated until committed") {
    HostFixture f;
    f.h.execute("CREATE TABLE items (id integer PRIMARY KEY)");
    const auto count = [&] { return *f.h.query("SELECT count(*) FROM items")[0][0]; };

    {
        plinth::transaction tx(f.h);
        CHECK(tx.execute("INSERT INTO items VALUES ($1), ($2)", {1, 2}) == 2);
        CHECK(tx.query("SELECT count(*) FROM items")[0][0] == "2");  // its own writes
        CHECK(count() == "0");                                        // another pooled connection
        tx.commit();
        CHECK_FALSE(tx.open());
        CHECK_THROWS_AS(tx.query("SELECT 1"), std::logic_error);
    }
    CHECK(count() == "2");

    {
        plinth::transaction tx(f.h);
        tx.execute("INSERT INTO items VALUES (3)");
    }  // not committed: rolled back
    CHECK(count() == "2");

    {
        plinth::transaction tx(f.h);
        tx.execute("INSERT INTO items VALUES (4)");
        tx.rollback();
    }
    CHECK(count() == "2");

    auto moved = [&] {
        plinth::transaction tx(f.h);
        tx.execute("INSERT INTO items VALUES (5)");
        return tx;
    }();
    moved.commit();
    CHECK(count() == "3");
}

TEST_CASE("an error inside a transaction aborts it: later statements and the commit fail, nothing stays") {
    HostFixture f;
    f.h.execute("CREATE TABLE items (id integer PRIMARY KEY)");
    plinth::transaction tx(f.h);
    tx.execute("INSERT INTO items VALUES (1)");
    CHECK(db_error_of([&] { tx.execute("INSERT INTO items VALUES (1)"); }).sqlstate() == "23505");
    CHECK(db_error_of([&] { tx.query("SELECT 1"); }).sqlstate() == "25P02");
    const auto commit = db_error_of([&] { tx.commit(); });
    CHECK(commit.sqlstate() == "25P02");
    CHECK_FALSE(tx.open());
    CHECK(f.h.query("SELECT count(*) FROM items")[0][0] == "0");
}

TEST_CASE("a transaction can choose its isolation level; an unknown level is refused") {
    HostFixture f;
    plinth::transaction tx(f.h, "serializable");
    CHECK(tx.query("SHOW transaction_isolation")[0][0] == "serializable");
    tx.commit();
    const auto bad = db_error_of([&] { plinth::transaction t(f.h, "sometimes"); });
    CHECK(bad.sqlstate().empty());
    CHECK(bad.message() == "unknown transaction isolation level \"sometimes\"");
}

TEST_CASE("several plugin threads at once share the pool without exceeding it") {
    HostFixture f(3);
    f.h.execute("CREATE TABLE hits (thread integer, n integer, PRIMARY KEY (thread, n))");
    constexpr int threads = 8;
    constexpr int rounds = 25;
    std::atomic<int> failures{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            for (int n = 0; n < rounds; ++n) {
                try {
                    if (n % 2) {
                        f.h.execute("INSERT INTO hits VALUES ($1, $2)", {t, n});
                    } else {
                        plinth::transaction tx(f.h);
                        tx.execute("INSERT INTO hits VALUES ($1, $2)", {t, n});
                        if (tx.query("SELECT n FROM hits WHERE thread = $1 AND n = $2", {t, n}).size() != 1)
                            ++failures;
                        tx.commit();
                    }
                } catch (const std::exception&) {
                    ++failures;
                }
            }
        });
    }
    for (auto& w : workers) w.join();
    CHECK(failures == 0);
    CHECK(f.h.query("SELECT count(*) FROM hits")[0][0] == std::to_string(threads * rounds));
    const auto connections =
        f.h.query("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend'");
    CHECK(std::stoi(*connections[0][0]) <= 3);
}

TEST_CASE("when every pooled connection is busy, a call fails after the checkout timeout") {
    HostFixture f(1, 300ms);
    plinth::transaction holder(f.h);
    const auto busy = db_error_of([&] { f.h.query("SELECT 1"); });
    CHECK(busy.sqlstate().empty());
    CHECK(busy.message() == "no database connection came free within 300 ms (all 1 of the pool are in use)");
    CHECK(busy.hint() == "raise --pool-size, or keep transactions short");
    holder.commit();
    CHECK(f.h.query("SELECT 1")[0][0] == "1");
}

TEST_CASE("transactions a plugin leaves open are rolled back when it stops; their handles are then refused") {
    HostFixture f;
    f.h.execute("CREATE TABLE items (id integer PRIMARY KEY)");
    const plinth_host* raw = f.context->raw();
    plinth_db_tx* tx = nullptr;
    REQUIRE(raw->db_begin(raw, nullptr, &tx, nullptr) == PLINTH_OK);
    const char* params[] = {"1"};
    plinth_db_result* result = nullptr;
    REQUIRE(raw->db_query(raw, tx, "INSERT INTO items VALUES ($1)", 1, params, &result, nullptr) == PLINTH_OK);
    CHECK(result->affected_rows == 1);
    raw->db_result_free(raw, result);

    CHECK(f.context->close_transactions() == 1);
    CHECK(f.h.query("SELECT count(*) FROM items")[0][0] == "0");

    plinth_db_error* error = nullptr;
    CHECK(raw->db_commit(raw, tx, &error) == PLINTH_ERROR);
    REQUIRE(error);
    CHECK(std::string(error->sqlstate).empty());
    CHECK(std::string(error->message) == "the transaction handle is not an open transaction of plugin \"demo\"");
    raw->db_error_free(raw, error);
}

TEST_CASE("the C functions refuse bad calls with an error instead of crashing") {
    HostFixture f;
    const plinth_host* raw = f.context->raw();
    plinth_db_result* result = nullptr;
    plinth_db_error* error = nullptr;
    CHECK(raw->db_query(raw, nullptr, nullptr, 0, nullptr, &result, &error) == PLINTH_ERROR);
    CHECK(result == nullptr);
    REQUIRE(error);
    CHECK(std::string(error->message) == "db_query: sql is NULL");
    raw->db_error_free(raw, error);

    CHECK(raw->db_query(raw, nullptr, "SELECT $1", 1, nullptr, &result, nullptr) == PLINTH_ERROR);
    CHECK(raw->db_query(raw, nullptr, "SELECT 1", 0, nullptr, nullptr, nullptr) == PLINTH_ERROR);
    CHECK(raw->db_begin(raw, nullptr, nullptr, nullptr) == PLINTH_ERROR);

    plinth_db_tx* tx = nullptr;
    REQUIRE(raw->db_begin(raw, nullptr, &tx, nullptr) == PLINTH_OK);
    CHECK(raw->db_commit(raw, tx, nullptr) == PLINTH_OK);
    CHECK(raw->db_rollback(raw, tx, &error) == PLINTH_ERROR);  // already ended
    raw->db_error_free(raw, error);
    raw->db_result_free(raw, nullptr);
    raw->db_error_free(raw, nullptr);
}

TEST_CASE("log lines go to the plugin's own logger; configuration reads the plugin's own keys") {
    HostFixture f(1, 30s, PluginConfig("demo", {{"greeting", "hello"}}, {{"PLINTH_DEMO_NAME", "from env"}}));
    f.h.warn("careful");
    f.h.debug("details");
    CHECK(f.logs.contains("[demo] [warning] careful"));
    CHECK(f.logs.contains("[demo] [debug] details"));
    CHECK(f.h.config("greeting") == "hello");
    CHECK(f.h.config("name") == "from env");
    CHECK(f.h.config("other") == std::nullopt);
    CHECK(f.h.plugin_name() == "demo");
}

TEST_CASE("session state a call leaves does not reach the next call that gets the same pooled connection") {
    HostFixture f(1);  // one connection: every call below runs on it
    const auto backend = *f.h.query("SELECT pg_backend_pid()")[0][0];
    const auto settings = [&] {
        return f.h.query("SELECT current_setting('search_path'), current_setting('application_name')")[0];
    };
    const auto defaults = settings();
    const auto same_connection = [&] { return *f.h.query("SELECT pg_backend_pid()")[0][0] == backend; };

    f.h.execute("SET search_path = pg_catalog");
    CHECK(settings() == defaults);
    f.h.execute("SET application_name = 'leaky-plugin'");
    CHECK(settings() == defaults);
    CHECK(same_connection());

    // In a transaction, a plain SET (not SET LOCAL) would outlive the commit.
    {
        plinth::transaction tx(f.h);
        tx.execute("SET search_path = pg_catalog");
        tx.execute("SET application_name = 'from-a-transaction'");
        tx.commit();
    }
    CHECK(settings() == defaults);
    CHECK(same_connection());

    // Temporary tables (CREATE TABLE AS reports SELECT), prepared statements, LISTEN, and a session
    // advisory lock (which outlives a failed statement).
    f.h.execute("CREATE TEMP TABLE scratch AS SELECT 1 AS one");
    CHECK(db_error_of([&] { f.h.query("SELECT * FROM scratch"); }).sqlstate() == "42P01");
    f.h.execute("PREPARE leftover AS SELECT 1");
    CHECK(f.h.query("SELECT count(*) FROM pg_prepared_statements")[0][0] == "0");
    f.h.execute("LISTEN some_channel");
    CHECK(f.h.query("SELECT count(*) FROM pg_listening_channels()")[0][0] == "0");
    const auto advisory_locks = [&] {
        return *f.h.query("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()")[0][0];
    };
    f.h.query("SELECT pg_advisory_lock(7)");
    CHECK(advisory_locks() == "0");
    // random() keeps the division from being folded (and failing) before the lock is taken.
    CHECK(db_error_of([&] { f.h.query("SELECT pg_advisory_lock(8), 1 / (random() * 0)::int"); }).sqlstate() ==
          "22012");
    CHECK(advisory_locks() == "0");
    CHECK(same_connection());

    // The plain path pays no extra round trip: the one documented gap is state set inside a
    // function a SELECT calls without naming it.
    f.h.execute(
        "CREATE FUNCTION rename_session() RETURNS text LANGUAGE sql AS "
        "$$ SELECT pg_catalog.set_config('application_name', 'renamed', false) $$");
    f.h.query("SELECT rename_session()");
    CHECK(f.h.query("SELECT current_setting('application_name')")[0][0] == "renamed");
}

TEST_CASE("which statements make the pool reset the connection they ran on") {
    using plinth::hosting::command_may_leave_session_state;
    using plinth::hosting::statement_may_leave_session_state;
    for (const char* plain : {"SELECT 1", "INSERT 0 1", "UPDATE 3", "DELETE 0", "MERGE 2"})
        CHECK_FALSE(command_may_leave_session_state(plain));
    for (const char* stateful : {"SET", "RESET", "LISTEN", "UNLISTEN", "PREPARE", "DEALLOCATE", "DEALLOCATE ALL",
                                 "CREATE TABLE", "DECLARE CURSOR", "DO", "CALL", "BEGIN", ""})
        CHECK(command_may_leave_session_state(stateful));

    CHECK_FALSE(statement_may_leave_session_state("SELECT id, temperature FROM attempts WHERE template = $1"));
    CHECK_FALSE(statement_may_leave_session_state("SELECT pg_advisory_xact_lock(1)"));
    CHECK(statement_may_leave_session_state("CREATE TEMP TABLE t AS SELECT 1"));
    CHECK(statement_may_leave_session_state("select * into temporary t from items"));
    CHECK(statement_may_leave_session_state("SELECT set_config('search_path', $1, false)"));
    CHECK(statement_may_leave_session_state("SELECT pg_try_advisory_lock(1)"));
    CHECK(statement_may_leave_session_state("SELECT pg_catalog.PG_ADVISORY_LOCK(1)"));
}
