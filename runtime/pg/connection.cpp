#include "pg/connection.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>
#include <thread>

#include <spdlog/spdlog.h>

#include "pg/conninfo.hpp"

namespace plinth::pg {

namespace {

using namespace std::chrono_literals;

// pg/ depends on nothing else of plinth's, so it keeps these two small helpers to itself.
std::string trim(std::string_view text) {
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) return {};
    return std::string(text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1));
}

std::string format_duration(std::chrono::milliseconds duration) {
    if (duration.count() % 1000 == 0) return std::to_string(duration.count() / 1000) + " s";
    return std::to_string(duration.count()) + " ms";
}

std::string field(const PGresult* res, int code) {
    const char* value = PQresultErrorField(res, code);
    return value ? value : "";
}

// libpq reports no SQLSTATE for connection failures, only text (fe-connect.c and the server's
// FATAL message, English as long as the server's lc_messages is). Unknown text maps to 08006.
std::string classify_connection_failure(std::string_view msg) {
    const auto has = [msg](std::string_view s) { return msg.find(s) != std::string_view::npos; };
    if (has("password authentication failed") || has("no password supplied")) return "28P01";
    if (has("authentication failed") || has("no pg_hba.conf entry") ||
        (has("role \"") && has("\" does not exist")))
        return "28000";
    if (has("database \"") && has("\" does not exist")) return "3D000";
    // A standby refused by target_session_attrs (read-write, primary) is worth waiting for too: during
    // a failover it is the primary a moment later.
    if (has("the database system is starting up") || has("not yet accepting connections") ||
        has("the database system is shutting down") || has("the database system is in recovery mode") ||
        has("session is read-only") || has("server is in hot standby mode") ||
        // A server shutting down ends sessions that were still starting: worth waiting for too.
        has("terminating connection due to administrator command") ||
        has("server closed the connection unexpectedly"))
        return "57P03";
    if (has("failed: Connection refused") || has("failed: No such file or directory") ||
        has("timeout expired"))
        return "08001";
    return "08006";
}

std::string describe_target(const std::string& conninfo) {
    if (trim(conninfo).empty()) return "the default server (PG* environment variables)";
    return redact_conninfo(conninfo);
}

Error connection_error(const std::string& conninfo, std::string_view libpq_message) {
    const std::string text = scrub_password(trim(libpq_message), conninfo);
    ErrorFields f;
    f.severity = "ERROR";
    f.sqlstate = classify_connection_failure(text);
    f.message = "could not connect to " + describe_target(conninfo);
    // libpq indents its advice ("Is the server running ...?") with a tab.
    std::size_t start = 0;
    while (start < text.size()) {
        auto end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        const std::string_view line(text.data() + start, end - start);
        auto& target = line.starts_with('\t') ? f.hint : f.detail;
        if (!trim(line).empty()) target += (target.empty() ? "" : "\n") + trim(line);
        start = end + 1;
    }
    return Error(std::move(f));
}

void log_notice(void*, const PGresult* res) {
    const std::string severity = field(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    const auto level = severity == "WARNING" ? spdlog::level::warn : spdlog::level::debug;
    spdlog::default_logger_raw()->log(level, "PostgreSQL {}: {}", severity,
                                      field(res, PG_DIAG_MESSAGE_PRIMARY));
}


}  // namespace

namespace detail {

Error result_error(const PGresult* res, PGconn* conn, std::string_view sql) {
    ErrorFields f;
    if (res) {
        f.severity = field(res, PG_DIAG_SEVERITY_NONLOCALIZED);
        f.sqlstate = field(res, PG_DIAG_SQLSTATE);
        f.message = field(res, PG_DIAG_MESSAGE_PRIMARY);
        f.detail = field(res, PG_DIAG_MESSAGE_DETAIL);
        f.hint = field(res, PG_DIAG_MESSAGE_HINT);
        f.context = field(res, PG_DIAG_CONTEXT);
        f.schema_name = field(res, PG_DIAG_SCHEMA_NAME);
        f.table_name = field(res, PG_DIAG_TABLE_NAME);
        f.column_name = field(res, PG_DIAG_COLUMN_NAME);
        f.constraint_name = field(res, PG_DIAG_CONSTRAINT_NAME);
        if (f.message.empty()) f.message = trim(PQresultErrorMessage(res));
    }
    if (f.message.empty()) f.message = trim(PQerrorMessage(conn));
    if (f.severity.empty()) f.severity = "ERROR";
    // Client-side failures (lost connection) carry no SQLSTATE.
    if (f.sqlstate.empty() && PQstatus(conn) == CONNECTION_BAD) f.sqlstate = "08006";
    f.statement = std::string(sql);
    return Error(std::move(f));
}

}  // namespace detail

using detail::result_error;

Connection::Connection(PGconn* conn, std::string redacted) noexcept
    : conn_(conn), redacted_(std::move(redacted)) {}

Connection Connection::open(const std::string& conninfo) { return open(conninfo, std::nullopt); }

Connection Connection::open(const std::string& conninfo,
                            std::optional<std::chrono::seconds> attempt_timeout) {
    // Later keywords win and the conninfo is expanded in place of "dbname", so the caller's own
    // settings override our client_encoding and connect_timeout.
    // TCP keepalives tell a server that vanished (a failover's old primary, unplugged) from a slow
    // one: a connection to it fails within about a minute instead of the kernel's two hours.
    std::vector<const char*> keys{"client_encoding", "keepalives_idle", "keepalives_interval", "keepalives_count"};
    std::vector<const char*> values{"UTF8", "30", "10", "3"};
    std::string timeout_text;
    if (attempt_timeout && !std::getenv("PGCONNECT_TIMEOUT")) {
        timeout_text = std::to_string(std::max<long long>(attempt_timeout->count(), 2));
        keys.push_back("connect_timeout");
        values.push_back(timeout_text.c_str());
    }
    keys.insert(keys.end(), {"dbname", "fallback_application_name", nullptr});
    values.insert(values.end(), {conninfo.c_str(), "plinth", nullptr});

    PGconn* raw = PQconnectdbParams(keys.data(), values.data(), 1);
    if (!raw) throw std::bad_alloc();
    Connection conn(raw, describe_target(conninfo));
    if (PQstatus(raw) != CONNECTION_OK) throw connection_error(conninfo, PQerrorMessage(raw));
    PQsetNoticeReceiver(raw, &log_notice, nullptr);
    return conn;
}

PGconn* Connection::require() const {
    if (!conn_) throw std::logic_error("use of a moved-from pg::Connection");
    return conn_.get();
}

Result Connection::check(PGresult* raw, std::string_view sql) {
    PGconn* conn = require();
    if (!raw) throw result_error(nullptr, conn, sql);
    Result res(raw);
    switch (PQresultStatus(raw)) {
        case PGRES_COMMAND_OK:
        case PGRES_TUPLES_OK:
        case PGRES_EMPTY_QUERY:
            return res;
        case PGRES_COPY_IN:
        case PGRES_COPY_OUT: {
            // Leave the COPY state so the connection stays usable, then refuse.
            if (PQresultStatus(raw) == PGRES_COPY_IN) {
                PQputCopyEnd(conn, "COPY is not supported by plinth's exec()");
            } else {
                char* buffer = nullptr;
                while (PQgetCopyData(conn, &buffer, 0) > 0) PQfreemem(buffer);
            }
            while (PGresult* rest = PQgetResult(conn)) PQclear(rest);
            ErrorFields f;
            f.message = "COPY is not supported by pg::Connection::exec";
            f.statement = std::string(sql);
            throw Error(std::move(f));
        }
        default:
            throw result_error(raw, conn, sql);
    }
}

Result Connection::exec(std::string_view sql) {
    PGconn* conn = require();
    const std::string text(sql);
    ++round_trips_;
    return check(PQexec(conn, text.c_str()), sql);
}

Result Connection::exec_params(std::string_view sql,
                               const std::vector<std::optional<std::string>>& params) {
    PGconn* conn = require();
    const std::string text(sql);
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
    ++round_trips_;
    return check(PQexecParams(conn, text.c_str(), static_cast<int>(values.size()), nullptr,
                              values.data(), nullptr, nullptr, 0),
                 sql);
}

namespace {

template <typename Escape>
std::string escape(PGconn* conn, std::string_view text, Escape fn, const char* what) {
    std::unique_ptr<char, decltype(&PQfreemem)> quoted(fn(conn, text.data(), text.size()),
                                                       &PQfreemem);
    if (!quoted) {
        ErrorFields f;
        f.message = std::string("could not quote ") + what + ": " + trim(PQerrorMessage(conn));
        throw Error(std::move(f));
    }
    return quoted.get();
}

}  // namespace

std::string Connection::quote_identifier(std::string_view identifier) const {
    return escape(require(), identifier, &PQescapeIdentifier, "identifier");
}

std::string Connection::quote_literal(std::string_view value) const {
    return escape(require(), value, &PQescapeLiteral, "literal");
}

int Connection::server_version() const { return PQserverVersion(require()); }

Transaction::Transaction(Connection& conn, std::string_view isolation_level) : conn_(conn) {
    std::string sql = "BEGIN";
    if (!isolation_level.empty()) {
        std::string upper;
        for (unsigned char c : isolation_level) upper += static_cast<char>(std::toupper(c));
        static constexpr std::array<std::string_view, 4> levels{
            "READ UNCOMMITTED", "READ COMMITTED", "REPEATABLE READ", "SERIALIZABLE"};
        if (std::find(levels.begin(), levels.end(), upper) == levels.end())
            throw std::invalid_argument("unknown transaction isolation level \"" +
                                        std::string(isolation_level) + "\"");
        sql += " ISOLATION LEVEL " + upper;
    }
    conn_.exec(sql);
}

Transaction::~Transaction() {
    PGconn* conn = conn_.native();
    if (finished_ || !conn || PQstatus(conn) != CONNECTION_OK ||
        PQtransactionStatus(conn) == PQTRANS_IDLE)
        return;
    PQclear(PQexec(conn, "ROLLBACK"));
}

void Transaction::commit() {
    if (finished_) throw std::logic_error("transaction already committed");
    finished_ = true;
    const Result res = [this] {
        try {
            return conn_.exec("COMMIT");
        } catch (const Error& e) {
            // The COMMIT may have reached the server before the connection broke.
            if (!e.is_connection_lost()) throw;
            ErrorFields f = e.fields();
            f.message = "the connection was lost during COMMIT: the transaction may or may not have committed (" +
                        f.message + ")";
            throw CommitInDoubt(std::move(f));
        }
    }();
    // COMMIT of a transaction aborted by an earlier (caught) error succeeds as a ROLLBACK.
    if (res.command_status() == "ROLLBACK") {
        ErrorFields f;
        f.sqlstate = "25P02";
        f.message = "the transaction was aborted by an earlier error; COMMIT rolled it back";
        f.statement = "COMMIT";
        throw Error(std::move(f));
    }
}

Connection connect_with_retry(const std::string& conninfo, std::chrono::milliseconds timeout,
                              spdlog::logger& log) {
    using clock = std::chrono::steady_clock;
    const auto deadline = clock::now() + timeout;
    std::chrono::milliseconds delay = 100ms;
    for (;;) {
        const auto remaining = std::chrono::ceil<std::chrono::seconds>(deadline - clock::now());
        try {
            return Connection::open(conninfo, std::max<std::chrono::seconds>(remaining, 2s));
        } catch (const Error& e) {
            if (!e.is_server_not_ready()) throw;
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
            if (left <= 0ms) {
                ErrorFields f = e.fields();
                f.message = "could not connect to " + describe_target(conninfo) + " within " +
                            format_duration(timeout) + ": the server is not accepting connections";
                throw Error(std::move(f));
            }
            const auto wait = std::min(delay, left);
            log.info("database not ready ({}), retrying in {} ms", e.detail(), wait.count());
            std::this_thread::sleep_for(wait);
            delay = std::min<std::chrono::milliseconds>(delay * 2, 2s);
        }
    }
}

}  // namespace plinth::pg
