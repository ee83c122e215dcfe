// A fixed-size pool of PostgreSQL connections shared by every plugin's host calls. Connections are
// opened on first need, handed out one caller at a time, and checked when they come back.
//
// Session state does not travel from one caller to the next. A connection comes back into the pool
// only when it is healthy and idle (an open or failed transaction is rolled back first), and it
// is reset with DISCARD ALL (settings and role, temporary tables, LISTEN, prepared statements,
// cursors, session advisory locks) when its lease was marked with reset_session_on_return(). The
// host marks it after every transaction handle, and after a single statement that may have left
// state: one whose command tag is anything but SELECT, INSERT, UPDATE, DELETE or MERGE (SET,
// RESET, LISTEN, PREPARE, DECLARE, CREATE TABLE, DO, CALL, ...), or whose text names TEMP,
// TEMPORARY, set_config or a session advisory lock function (CREATE TEMP TABLE ... AS and
// SELECT ... INTO TEMP report SELECT). So the common SELECT/INSERT/UPDATE/DELETE costs no extra
// round trip. Not caught: session state left by a function the statement calls without naming it
// (a set_config(..., false) or pg_advisory_lock inside a user function, currval).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "pg/connection.hpp"

namespace plinth::hosting {

class ConnectionPool {
public:
    // Exclusive use of one pooled connection; returns it to the pool when destroyed.
    class Lease {
    public:
        Lease(Lease&& other) noexcept;
        Lease& operator=(Lease&&) = delete;
        Lease(const Lease&) = delete;
        ~Lease();
        pg::Connection& operator*() const noexcept { return *conn_; }
        pg::Connection* operator->() const noexcept { return conn_.get(); }
        // The connection gets DISCARD ALL before it goes back to the pool (see the file comment);
        // a connection where that fails is closed instead.
        void reset_session_on_return() noexcept { reset_session_ = true; }

    private:
        friend class ConnectionPool;
        Lease(ConnectionPool& pool, std::unique_ptr<pg::Connection> conn) noexcept;
        ConnectionPool* pool_;
        std::unique_ptr<pg::Connection> conn_;
        bool reset_session_ = false;
    };

    // size >= 1 connections to conninfo; a checkout waits at most checkout_timeout for one, and
    // opening a connection waits at most that long for the server.
    ConnectionPool(std::string conninfo, std::size_t size, std::chrono::milliseconds checkout_timeout,
                   std::shared_ptr<spdlog::logger> log);
    ConnectionPool(const ConnectionPool&) = delete;
    ConnectionPool& operator=(const ConnectionPool&) = delete;
    // Every lease must have been returned.
    ~ConnectionPool();

    // Thread-safe. Throws pg::Error when no connection came free in time (no SQLSTATE) or a new
    // one could not be opened.
    Lease checkout();

    std::size_t size() const noexcept { return size_; }

private:
    void give_back(std::unique_ptr<pg::Connection> conn, bool reset_session) noexcept;

    const std::string conninfo_;
    const std::size_t size_;
    const std::chrono::milliseconds checkout_timeout_;
    std::shared_ptr<spdlog::logger> log_;

    std::mutex mu_;
    std::condition_variable freed_;
    std::vector<std::unique_ptr<pg::Connection>> idle_;
    std::size_t open_ = 0;  // idle, leased, and being opened
};

// For one statement run outside a transaction (see the file comment): whether its text names
// something that leaves session state even when its command tag is SELECT, or even when it fails
// (a session advisory lock outlives the rollback). Asked before running it. False positives cost
// one DISCARD ALL.
bool statement_may_leave_session_state(std::string_view sql);
// Whether a statement with this command tag (PQcmdStatus, e.g. "INSERT 0 1") may have left
// session state: anything but SELECT, INSERT, UPDATE, DELETE and MERGE.
bool command_may_leave_session_state(std::string_view command_status);

}  // namespace plinth::hosting
