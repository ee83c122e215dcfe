// RAII over libpq: a connection, a transaction guard and a connect-with-retry for servers that are
// still starting. Values always travel as parameters (exec_params); quote_literal is only for the
// statements where PostgreSQL accepts no parameters, i.e. utility statements and DDL (a value in
// COMMENT ON ... IS '...', for instance).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <libpq-fe.h>

#include "pg/error.hpp"
#include "pg/result.hpp"

namespace spdlog {
class logger;
}

namespace plinth::pg {

class Connection {
public:
    // conninfo is anything libpq accepts (URI or key=value; PG* environment variables fill in the
    // rest). Throws pg::Error whose message names the redacted target; see connect_with_retry for
    // the SQLSTATEs given to connection failures.
    static Connection open(const std::string& conninfo);

    Connection(Connection&&) noexcept = default;
    Connection& operator=(Connection&&) noexcept = default;

    // Parameterless SQL; may hold several statements (the result is the last one's). COPY is refused.
    Result exec(std::string_view sql);
    // One statement with $1..$n bound as text; nullopt binds SQL NULL.
    Result exec_params(std::string_view sql, const std::vector<std::optional<std::string>>& params);

    std::string quote_identifier(std::string_view identifier) const;
    // Only for statements that cannot take parameters (see the file comment).
    std::string quote_literal(std::string_view value) const;

    PGconn* native() const noexcept { return conn_.get(); }
    // Round trips to the server so far: each exec and exec_params is one, and so is each
    // Pipeline::sync, however many statements it carries.
    std::uint64_t round_trips() const noexcept { return round_trips_; }
    int server_version() const;
    std::string redacted_conninfo() const { return redacted_; }

private:
    friend class Pipeline;
    friend Connection connect_with_retry(const std::string&, std::chrono::milliseconds,
                                         spdlog::logger&);
    Connection(PGconn* conn, std::string redacted) noexcept;
    // attempt_timeout becomes libpq's connect_timeout unless the caller already chose one.
    static Connection open(const std::string& conninfo,
                           std::optional<std::chrono::seconds> attempt_timeout);
    PGconn* require() const;
    Result check(PGresult* res, std::string_view sql);

    struct Finish {
        void operator()(PGconn* conn) const noexcept { PQfinish(conn); }
    };
    std::unique_ptr<PGconn, Finish> conn_;
    std::string redacted_;
    std::uint64_t round_trips_ = 0;
};

// BEGIN on construction, ROLLBACK on destruction unless commit() ran. The connection must outlive
// the guard and must not be moved while it exists.
class Transaction {
public:
    // isolation_level: empty, or one of READ UNCOMMITTED, READ COMMITTED, REPEATABLE READ,
    // SERIALIZABLE (any case); anything else throws std::invalid_argument.
    explicit Transaction(Connection& conn, std::string_view isolation_level = {});
    // BEGIN is left to the caller, whose next statement starts with kBeginWithNext (a simple query
    // of several statements): one round trip less. Until it has run there is nothing to roll back.
    struct BeginWithNext {};
    static constexpr std::string_view kBeginWithNext = "BEGIN; ";
    Transaction(Connection& conn, BeginWithNext) : conn_(conn) {}
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    ~Transaction();

    // Throws pg::Error when COMMIT fails or when PostgreSQL rolled back an aborted transaction, and
    // pg::CommitInDoubt when the connection broke during COMMIT (the outcome is unknown).
    void commit();

private:
    Connection& conn_;
    bool finished_ = false;
};

// Opens a connection, waiting for a server that is not accepting connections yet: nothing listening
// (SQLSTATE 08001 given by us: connection refused, no socket, timeout) or starting up / shutting
// down / a standby that target_session_attrs refused (57P03; during a failover it is promoted soon). Waits 100 ms, doubling up to 2 s, logging each wait at info level, until timeout has
// passed; then throws pg::Error naming the redacted target and the last libpq error. Any other
// failure is thrown at once: authentication (28P01, 28000), missing database (3D000), unknown host
// and unclassified errors (08006).
Connection connect_with_retry(const std::string& conninfo, std::chrono::milliseconds timeout,
                              spdlog::logger& log);

namespace detail {
// The error of a failed result (or, with res null, of the connection), naming `sql`; shared with
// Pipeline.
Error result_error(const PGresult* res, PGconn* conn, std::string_view sql);
}  // namespace detail

}  // namespace plinth::pg
