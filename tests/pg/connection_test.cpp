// The libpq layer against a real server: results, errors, transactions, quoting, redaction and
// connection failures.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "embedded/cluster.hpp"
#include "embedded/process.hpp"
#include "log_capture.hpp"
#include "pg/connection.hpp"
#include "pg/conninfo.hpp"
#include "pg/pipeline.hpp"
#include "pg_fixture.hpp"

using namespace std::chrono_literals;
using plinth::pg::Connection;
using plinth::pg::Error;
using plinth::pg::Pipeline;
using plinth::pg::Transaction;
using plinth::test::LogCapture;
using plinth::test::TestCluster;

namespace {

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

// A TCP port nobody listens on right now.
int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
}

template <typename F>
Error catch_error(F&& f) {
    try {
        f();
    } catch (const Error& e) {
        return e;
    }
    FAIL("expected a pg::Error");
    throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("exec and exec_params round-trip values, quotes and NULLs") {
    auto conn = Connection::open(TestCluster::instance().fresh_database());
    CHECK(conn.server_version() >= 100000);
    conn.exec("CREATE TABLE person (id int PRIMARY KEY, name text, note text)");

    const std::string tricky = "O'Brien \"; DROP TABLE person; -- \\ naïve ☃";
    auto inserted = conn.exec_params("INSERT INTO person VALUES ($1, $2, $3), ($4, $5, $6)",
                                     {"1", tricky, std::string(), "2", std::nullopt, std::nullopt});
    CHECK(inserted.affected_rows() == 2);
    CHECK(inserted.command_status() == "INSERT 0 2");

    auto rows = conn.exec_params("SELECT id, name, note FROM person WHERE id >= $1 ORDER BY id", {"1"});
    REQUIRE(rows.rows() == 2);
    CHECK(rows.columns() == 3);
    CHECK(rows.affected_rows() == 2);
    CHECK(rows.text(0, 1) == tricky);
    CHECK(rows.value(0, 2) == std::string_view(""));  // empty string is not NULL
    CHECK_FALSE(rows.is_null(0, 2));
    CHECK(rows.is_null(1, 1));
    CHECK_FALSE(rows.value(1, 1).has_value());
    CHECK_THROWS_AS(rows.text(1, 1), std::runtime_error);
    CHECK_THROWS_AS(rows.value(2, 0), std::out_of_range);
    CHECK_THROWS_AS(rows.value(0, 3), std::out_of_range);
    CHECK(rows.column_index("note") == 2);
    CHECK_THROWS_AS(rows.column_index("NOTE"), std::out_of_range);
    CHECK(rows.column_name(1) == "name");

    // Several statements in one exec (scripts); the result is the last statement's.
    auto last = conn.exec("CREATE TABLE a (x int); INSERT INTO a VALUES (1), (2); SELECT count(*) FROM a");
    CHECK(last.text(0, 0) == "2");
    CHECK(conn.exec("CREATE INDEX ON a (x)").affected_rows() == 0);
}

TEST_CASE("errors carry SQLSTATE, statement, detail and hint") {
    auto conn = Connection::open(TestCluster::instance().fresh_database());

    const auto missing = catch_error([&] { conn.exec("SELECT * FROM missing_table"); });
    CHECK(missing.sqlstate() == "42P01");
    CHECK(missing.statement() == "SELECT * FROM missing_table");
    CHECK(missing.message() == "relation \"missing_table\" does not exist");
    CHECK(std::string(missing.what()) ==
          "ERROR 42P01: relation \"missing_table\" does not exist\n"
          "  statement: SELECT * FROM missing_table");

    conn.exec("CREATE TABLE t (id int PRIMARY KEY)");
    conn.exec("INSERT INTO t VALUES (1)");
    const auto duplicate = catch_error([&] { conn.exec_params("INSERT INTO t VALUES ($1)", {"1"}); });
    CHECK(duplicate.sqlstate() == "23505");
    CHECK(duplicate.detail() == "Key (id)=(1) already exists.");
    CHECK(duplicate.fields().constraint_name == "t_pkey");
    CHECK(duplicate.fields().table_name == "t");
    CHECK(contains(duplicate.what(), "\n  detail: Key (id)=(1) already exists."));

    const auto no_function = catch_error([&] { conn.exec("SELECT no_such_function(1)"); });
    CHECK(no_function.sqlstate() == "42883");
    CHECK(contains(no_function.hint(), "No function matches"));
    CHECK(contains(no_function.what(), "\n  hint: No function matches"));

    const auto raised = catch_error([&] {
        conn.exec("DO $$ BEGIN RAISE EXCEPTION 'boom' USING DETAIL = 'the detail', HINT = 'the hint', "
                  "ERRCODE = 'P0001'; END $$");
    });
    CHECK(raised.sqlstate() == "P0001");
    CHECK(contains(raised.what(), "ERROR P0001: boom\n  statement: DO $$"));
    CHECK(contains(raised.what(), "\n  detail: the detail\n  hint: the hint"));

    // The connection stays usable after errors.
    CHECK(conn.exec("SELECT 1").text(0, 0) == "1");
}

TEST_CASE("the transaction guard rolls back unless committed") {
    const std::string target = TestCluster::instance().fresh_database();
    auto conn = Connection::open(target);
    auto other = Connection::open(target);
    conn.exec("CREATE TABLE t (id int PRIMARY KEY)");
    const auto count = [&] { return other.exec("SELECT count(*) FROM t").text(0, 0); };

    {
        Transaction tx(conn);
        conn.exec("INSERT INTO t VALUES (1)");
    }
    CHECK(count() == "0");

    CHECK_THROWS_AS(
        {
            Transaction tx(conn);
            conn.exec("INSERT INTO t VALUES (2)");
            throw std::runtime_error("failure inside the transaction");
        },
        std::runtime_error);
    CHECK(count() == "0");

    {
        Transaction tx(conn);
        conn.exec("INSERT INTO t VALUES (3)");
        tx.commit();
    }
    CHECK(count() == "1");

    {  // COMMIT after a swallowed error would silently roll back: the guard says so.
        Transaction tx(conn);
        conn.exec("INSERT INTO t VALUES (4)");
        CHECK_THROWS_AS(conn.exec("INSERT INTO t VALUES (3)"), Error);
        const auto e = catch_error([&] { tx.commit(); });
        CHECK(e.sqlstate() == "25P02");
    }
    CHECK(count() == "1");
    CHECK(PQtransactionStatus(conn.native()) == PQTRANS_IDLE);

    {
        Transaction tx(conn, "serializable");
        CHECK(conn.exec("SHOW transaction_isolation").text(0, 0) == "serializable");
    }
    CHECK_THROWS_AS(Transaction(conn, "SERIALIZABLE; DROP TABLE t"), std::invalid_argument);

    // BEGIN sent with the caller's first statement: rolled back the same, committed the same.
    {
        Transaction tx(conn, Transaction::BeginWithNext{});
        CHECK(PQtransactionStatus(conn.native()) == PQTRANS_IDLE);
        conn.exec(std::string(Transaction::kBeginWithNext) + "INSERT INTO t VALUES (5)");
        CHECK(PQtransactionStatus(conn.native()) == PQTRANS_INTRANS);
    }
    CHECK(count() == "1");
    {  // a first statement that fails after BEGIN leaves an aborted transaction, rolled back
        Transaction tx(conn, Transaction::BeginWithNext{});
        CHECK_THROWS_AS(conn.exec(std::string(Transaction::kBeginWithNext) + "INSERT INTO t VALUES (3)"), Error);
    }
    CHECK(PQtransactionStatus(conn.native()) == PQTRANS_IDLE);
    {
        Transaction tx(conn, Transaction::BeginWithNext{});
        conn.exec(std::string(Transaction::kBeginWithNext) + "INSERT INTO t VALUES (6)");
        tx.commit();
    }
    CHECK(count() == "2");
    {  // never begun: nothing to roll back, and the connection is left as it was
        Transaction tx(conn, Transaction::BeginWithNext{});
    }
    CHECK(PQtransactionStatus(conn.native()) == PQTRANS_IDLE);
}

TEST_CASE("a connection lost during COMMIT is in doubt, and the server tells the outcome afterwards") {
    const std::string target = TestCluster::instance().fresh_database();
    auto conn = Connection::open(target);
    auto other = Connection::open(target);
    conn.exec("CREATE TABLE t (id int PRIMARY KEY)");
    Transaction tx(conn);
    const auto xid = conn.exec("INSERT INTO t VALUES (1); SELECT pg_current_xact_id()::text").text(0, 0);
    other.exec_params("SELECT pg_terminate_backend($1::int)", {std::to_string(PQbackendPID(conn.native()))});
    bool in_doubt = false;
    try {
        tx.commit();
    } catch (const plinth::pg::CommitInDoubt& e) {
        in_doubt = true;
        CHECK(e.is_connection_lost());
        CHECK(contains(e.what(), "may or may not have committed"));
    }
    CHECK(in_doubt);
    CHECK(other.exec_params("SELECT pg_xact_status($1::xid8)", {xid}).text(0, 0) == "aborted");
}

TEST_CASE("SQLSTATE classes the code acts on") {
    const auto with = [](const char* sqlstate) {
        plinth::pg::ErrorFields f;
        f.sqlstate = sqlstate;
        return Error(std::move(f));
    };
    CHECK(with("55P03").is_lock_failure());
    CHECK(with("40P01").is_lock_failure());
    CHECK_FALSE(with("57014").is_lock_failure());
    CHECK(with("08006").is_connection_lost());
    CHECK(with("57P01").is_connection_lost());
    CHECK_FALSE(with("57P03").is_connection_lost());
    CHECK(with("57P03").is_server_not_ready());
    CHECK(with("08001").is_server_not_ready());
    CHECK(with("42P01").is_undefined_relation());
    CHECK(with("3F000").is_undefined_relation());
    CHECK_FALSE(with("42703").is_undefined_relation());
}

TEST_CASE("quote_identifier and quote_literal") {
    auto conn = Connection::open(TestCluster::instance().fresh_database());
    const std::string name = "Weird \"Name\"; DROP";
    const std::string quoted = conn.quote_identifier(name);
    CHECK(quoted == "\"Weird \"\"Name\"\"; DROP\"");
    conn.exec("CREATE TABLE " + quoted + " (x int)");
    CHECK(conn.exec_params("SELECT relname FROM pg_class WHERE relname = $1", {name}).rows() == 1);
    CHECK(conn.quote_identifier("plain") == "\"plain\"");

    CHECK(conn.quote_literal("it's") == "'it''s'");
    const std::string awkward = "back\\slash 'quote' ☃";
    conn.exec("COMMENT ON TABLE " + quoted + " IS " + conn.quote_literal(awkward));
    CHECK(conn.exec_params("SELECT obj_description($1::regclass)", {quoted}).text(0, 0) == awkward);
}

TEST_CASE("redact_conninfo masks passwords in URIs and key=value strings") {
    using plinth::pg::redact_conninfo;
    CHECK(redact_conninfo("postgresql://user:secret@host/db") == "postgresql://user:***@host/db");
    CHECK(redact_conninfo("postgres://user:s%40cret@host:5433/db?sslmode=require") ==
          "postgres://user:***@host:5433/db?sslmode=require");
    CHECK(redact_conninfo("postgresql://h1,h2/db?user=u&password=secret&sslmode=disable") ==
          "postgresql://h1,h2/db?user=u&password=***&sslmode=disable");
    CHECK(redact_conninfo("postgresql://h/db?pass%77ord=secret") == "postgresql://h/db?pass%77ord=***");
    CHECK(redact_conninfo("postgresql://user:pa?ss@host/db") == "postgresql://user:***@host/db");
    CHECK(redact_conninfo("postgresql://user:pa/ss@host/db?x=1") == "postgresql://user:***@host/db?x=1");
    CHECK(redact_conninfo("postgresql://user@host/db") == "postgresql://user@host/db");
    CHECK(redact_conninfo("postgresql://host/db?user=me@corp") == "postgresql://host/db?user=me@corp");
    CHECK(redact_conninfo("postgresql:///plinth?host=/tmp/x&user=plinth") ==
          "postgresql:///plinth?host=/tmp/x&user=plinth");

    CHECK(redact_conninfo("host=h password=secret dbname=d") == "host=h password=*** dbname=d");
    CHECK(redact_conninfo("host=h password='se cr\\'et' dbname=d") == "host=h password=*** dbname=d");
    CHECK(redact_conninfo("password = secret user=u") == "password = *** user=u");
    CHECK(redact_conninfo("host=h dbname=d") == "host=h dbname=d");
    CHECK(redact_conninfo("") == "");
    CHECK(redact_conninfo("dbname='postgresql://u:pw@h/db' connect_timeout=3") ==
          "dbname='postgresql://u:***@h/db' connect_timeout=3");
    // Unparsable input is masked from the first unparsable point.
    CHECK(redact_conninfo("host=h password secret") == "host=h ***");
    CHECK(redact_conninfo("host=h password='unterminated secret") == "host=h password=***");

    // libpq echoes malformed fragments; scrub_password keeps them out of messages.
    CHECK(plinth::pg::scrub_password("invalid percent-encoded token: \"p%zzw\"",
                                     "postgresql://u:p%zzw@h/db") ==
          "invalid percent-encoded token: \"***\"");
}

TEST_CASE("connection failures: wrong port, no socket, missing database, unknown role") {
    LogCapture logs;
    const int port = free_port();
    const std::string refused = "host=127.0.0.1 port=" + std::to_string(port) + " dbname=x user=u";
    const auto e = catch_error([&] { plinth::pg::connect_with_retry(refused, 300ms, logs.logger()); });
    CHECK(e.sqlstate() == "08001");
    CHECK(contains(e.what(), "could not connect to " + refused + " within 300 ms"));
    CHECK(contains(e.what(), "Connection refused"));
    CHECK(logs.count("database not ready") >= 1);

    const auto no_socket = catch_error([] { Connection::open("postgresql:///x?host=/nonexistent/plinth"); });
    CHECK(no_socket.sqlstate() == "08001");
    CHECK(contains(no_socket.detail(), "No such file or directory"));
    CHECK(contains(no_socket.hint(), "Is the server running locally"));

    auto& cluster = TestCluster::instance();
    LogCapture fast;
    const auto no_db = catch_error(
        [&] { plinth::pg::connect_with_retry(cluster.conninfo_for("no_such_db"), 30s, fast.logger()); });
    CHECK(no_db.sqlstate() == "3D000");
    CHECK(contains(no_db.what(), "database \"no_such_db\" does not exist"));

    std::string no_role_target = cluster.admin_conninfo();
    no_role_target.replace(no_role_target.find("user=plinth"), 11, "user=nobody_here");
    const auto no_role = catch_error(
        [&] { plinth::pg::connect_with_retry(no_role_target, 30s, fast.logger()); });
    CHECK(no_role.sqlstate() == "28000");
    CHECK(fast.count("retrying") == 0);
}

namespace {

// A separate cluster listening on 127.0.0.1 with password (SCRAM) authentication, built by hand
// with initdb and pg_ctl: the embedded cluster deliberately has no TCP listener.
class TcpCluster {
public:
    TcpCluster() : port_(free_port()) {
        const auto bin = plinth::embedded::find_server_binaries();
        pg_ctl_ = (bin.bindir / "pg_ctl").string();
        if (::geteuid() == 0) {
            as_ = plinth::embedded::RunAs::lookup("postgres");
            REQUIRE(::chown(dir_.path().c_str(), as_->uid, as_->gid) == 0);
        }
        run({(bin.bindir / "initdb").string(), "-D", pgdata(), "-U", "plinth", "--no-sync",
             "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-locale"});
        run({pg_ctl_, "start", "-w", "-D", pgdata(), "-l", (dir_.path() / "log").string(), "-o",
             "-c listen_addresses=127.0.0.1 -c fsync=off -c port=" + std::to_string(port_) +
                 " -c unix_socket_directories=" + dir_.path().string()});
        started_ = true;
    }
    ~TcpCluster() {
        if (started_)
            plinth::embedded::run_process({pg_ctl_, "stop", "-w", "-m", "immediate", "-D", pgdata()},
                                          as_ ? &*as_ : nullptr);
    }

    int port() const { return port_; }
    std::string local_conninfo() const {
        return "host=" + dir_.path().string() + " port=" + std::to_string(port_) +
               " user=plinth dbname=postgres";
    }

private:
    std::string pgdata() const { return (dir_.path() / "pgdata").string(); }
    void run(const std::vector<std::string>& argv) {
        const auto r = plinth::embedded::run_process(argv, as_ ? &*as_ : nullptr);
        INFO(r.err);
        REQUIRE(r.status == 0);
    }

    plinth::test::TempDir dir_;
    std::optional<plinth::embedded::RunAs> as_;
    std::string pg_ctl_;
    int port_;
    bool started_ = false;
};

}  // namespace

TEST_CASE("a wrong password fails at once and is never shown") {
    TcpCluster server;
    Connection::open(server.local_conninfo())
        .exec("CREATE ROLE alice LOGIN PASSWORD 'correct-horse-battery'");
    const std::string tcp = "host=127.0.0.1 port=" + std::to_string(server.port()) + " dbname=postgres";

    const auto ok = Connection::open(tcp + " user=alice password=correct-horse-battery");
    CHECK(ok.redacted_conninfo() == tcp + " user=alice password=***");

    const std::string secret = "Wr0ng-S3cret-xyz";
    for (const std::string& target :
         {tcp + " user=alice password=" + secret,
          "postgresql://alice:" + secret + "@127.0.0.1:" + std::to_string(server.port()) + "/postgres"}) {
        LogCapture logs;
        const auto e = catch_error([&] { plinth::pg::connect_with_retry(target, 30s, logs.logger()); });
        CHECK(e.sqlstate() == "28P01");
        CHECK(contains(e.what(), "password authentication failed for user \"alice\""));
        CHECK(contains(e.what(), "***"));
        CHECK_FALSE(contains(e.what(), secret));
        CHECK_FALSE(contains(logs.text(), secret));
        CHECK(logs.count("retrying") == 0);
    }
}

TEST_CASE("a pipeline sends its statements in one round trip and returns each one's result in order") {
    auto conn = Connection::open(TestCluster::instance().fresh_database());
    const auto before = conn.round_trips();
    std::vector<plinth::pg::PipelineResult> results;
    {
        Transaction tx(conn);
        {
            Pipeline pipeline(conn);
            pipeline.send("CREATE TABLE t (id int PRIMARY KEY, name text)");
            pipeline.send("INSERT INTO t VALUES ($1, $2), ($3, $4)", {"1", "O'Brien", "2", std::nullopt});
            pipeline.send("SELECT name FROM t ORDER BY id");
            results = pipeline.sync();
        }
        tx.commit();
    }
    // BEGIN, the pipeline's sync, COMMIT.
    CHECK(conn.round_trips() - before == 3);
    REQUIRE(results.size() == 3);
    CHECK(results[0].result.command_status() == "CREATE TABLE");
    CHECK(results[1].result.affected_rows() == 2);
    REQUIRE(results[2].result.rows() == 2);
    CHECK(results[2].result.text(0, 0) == "O'Brien");
    CHECK(results[2].result.is_null(1, 0));
    for (const auto& r : results) CHECK(r.elapsed.count() >= 0);
    // Out of pipeline mode, the connection works as before.
    CHECK(conn.exec("SELECT count(*) FROM t").text(0, 0) == "2");
}

TEST_CASE("a timed pipeline's statements sent without a flush still give every result, in order") {
    const std::string target = TestCluster::instance().fresh_database();
    auto conn = Connection::open(target);
    std::vector<plinth::pg::PipelineResult> results;
    {
        Transaction tx(conn);
        Pipeline pipeline(conn);
        pipeline.send("CREATE TABLE t (id int)", {}, false);
        pipeline.send("INSERT INTO t VALUES (1), (2)", {}, false);
        pipeline.send("SELECT count(*) FROM t", {}, true);
        pipeline.send("INSERT INTO t VALUES (3)", {}, false);
        results = pipeline.sync();
    }
    REQUIRE(results.size() == 4);
    CHECK(results[0].result.command_status() == "CREATE TABLE");
    CHECK(results[1].result.affected_rows() == 2);
    CHECK(results[2].result.text(0, 0) == "2");
    CHECK(results[3].result.affected_rows() == 1);
    for (const auto& r : results) CHECK(r.elapsed.count() >= 0);
}

TEST_CASE("a statement failing in a pipeline is named with its index, SQL and SQLSTATE; nothing after it runs") {
    const std::string target = TestCluster::instance().fresh_database();
    auto conn = Connection::open(target);
    conn.exec("CREATE TABLE t (id int PRIMARY KEY)");
    std::optional<plinth::pg::PipelineError> failure;
    {
        Transaction tx(conn);
        {
            Pipeline pipeline(conn);
            pipeline.send("INSERT INTO t VALUES (1)");
            pipeline.send("CREATE TABLE after_ok (id int)");
            pipeline.send("INSERT INTO t VALUES (1)");
            pipeline.send("CREATE TABLE after_failure (id int)");
            try {
                pipeline.sync();
            } catch (const plinth::pg::PipelineError& e) {
                failure = e;
            }
            // The results of the statements before the failing one.
            REQUIRE(pipeline.completed().size() == 2);
            CHECK(pipeline.completed()[0].result.command_status() == "INSERT 0 1");
            CHECK(pipeline.completed()[1].result.command_status() == "CREATE TABLE");
        }
        // The transaction is aborted; the guard rolls it back on a connection out of pipeline mode.
        CHECK(PQpipelineStatus(conn.native()) == PQ_PIPELINE_OFF);
        CHECK(PQtransactionStatus(conn.native()) == PQTRANS_INERROR);
    }
    REQUIRE(failure);
    CHECK(failure->index() == 2);
    CHECK(failure->sqlstate() == "23505");
    CHECK(failure->statement() == "INSERT INTO t VALUES (1)");
    CHECK(contains(failure->what(), "ERROR 23505: duplicate key value violates unique constraint \"t_pkey\""));
    auto other = Connection::open(target);
    CHECK(other.exec("SELECT count(*) FROM t").text(0, 0) == "0");
    CHECK(other.exec("SELECT to_regclass('after_ok') IS NULL AND to_regclass('after_failure') IS NULL").text(0, 0) == "t");
    CHECK(conn.exec("SELECT 1").text(0, 0) == "1");
}

TEST_CASE("a pipeline left without its sync leaves pipeline mode on destruction; the connection stays usable") {
    auto conn = Connection::open(TestCluster::instance().fresh_database());
    {
        Transaction tx(conn);
        CHECK_THROWS_AS(
            {
                Pipeline pipeline(conn);
                pipeline.send("CREATE TABLE t (id int)");
                pipeline.send("SELECT pg_sleep(0.1)");
                throw std::runtime_error("failure before the sync");
            },
            std::runtime_error);
        CHECK(PQpipelineStatus(conn.native()) == PQ_PIPELINE_OFF);
    }
    CHECK(conn.exec("SELECT to_regclass('t') IS NULL").text(0, 0) == "t");
    // COPY cannot run in a pipeline: refused as the failing statement.
    Transaction tx(conn);
    const auto copy = [&] {
        try {
            Pipeline pipeline(conn);
            pipeline.send("SELECT 1");
            pipeline.send("COPY (SELECT 1) TO STDOUT");
            pipeline.sync();
        } catch (const plinth::pg::PipelineError& e) {
            return e.index();
        }
        return std::size_t{99};
    };
    CHECK(copy() == 1);
}

TEST_CASE("a pipeline whose results outgrow the socket buffers neither deadlocks nor loses a result") {
    // 2,000 statements of 4 kB each way: far more than the kernel buffers both ways hold, so the
    // client must read results while it still sends.
    auto conn = Connection::open(TestCluster::instance().fresh_database());
    const std::string padding(4000, 'x');
    Pipeline pipeline(conn);
    for (int i = 0; i < 2000; ++i)
        pipeline.send("SELECT $1::int, length($2), repeat('y', 4000)", {std::to_string(i), padding});
    const auto before = conn.round_trips();
    const auto results = pipeline.sync();
    CHECK(conn.round_trips() - before == 1);
    REQUIRE(results.size() == 2000);
    for (int i = 0; i < 2000; i += 199) {
        CHECK(results[i].result.text(0, 0) == std::to_string(i));
        CHECK(results[i].result.text(0, 1) == "4000");
    }
}

TEST_CASE("an untimed pipeline gathers thousands of statements into few writes and still names a failure's index") {
    auto conn = Connection::open(TestCluster::instance().fresh_database());
    conn.exec("CREATE TABLE t (id int PRIMARY KEY)");
    std::optional<plinth::pg::PipelineError> failure;
    std::vector<plinth::pg::PipelineResult> completed;
    {
        Transaction tx(conn);
        Pipeline pipeline(conn, Pipeline::Timing::none);
        // 3,000 statements, well past one 8 KiB write; the 2,500th inserts a duplicate key.
        for (int i = 0; i < 3000; ++i)
            pipeline.send("INSERT INTO t VALUES ($1)", {std::to_string(i == 2499 ? 7 : i)});
        try {
            pipeline.sync();
        } catch (const plinth::pg::PipelineError& e) {
            failure = e;
            completed = std::move(pipeline.completed());
        }
    }
    REQUIRE(failure);
    CHECK(failure->index() == 2499);
    CHECK(failure->sqlstate() == "23505");
    CHECK(failure->statement() == "INSERT INTO t VALUES ($1)");
    REQUIRE(completed.size() == 2499);
    for (const auto& r : completed) CHECK(r.elapsed.count() == 0);
    CHECK(conn.exec("SELECT count(*) FROM t").text(0, 0) == "0");  // rolled back with its transaction

    Pipeline untimed(conn, Pipeline::Timing::none);
    for (int i = 0; i < 3000; ++i) untimed.send("SELECT $1::int", {std::to_string(i)});
    const auto results = untimed.sync();
    REQUIRE(results.size() == 3000);
    CHECK(results[2999].result.text(0, 0) == "2999");
}
