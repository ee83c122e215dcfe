// A fixed-size pool of PostgreSQL connections shared by every plugin's host calls. Connections are
// opened on first need, handed out one caller at a time, and checked when they come back.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
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

    private:
        friend class ConnectionPool;
        Lease(ConnectionPool& pool, std::unique_ptr<pg::Connection> conn) noexcept;
        ConnectionPool* pool_;
        std::unique_ptr<pg::Connection> conn_;
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
    void give_back(std::unique_ptr<pg::Connection> conn) noexcept;

    const std::string conninfo_;
    const std::size_t size_;
    const std::chrono::milliseconds checkout_timeout_;
    std::shared_ptr<spdlog::logger> log_;

    std::mutex mu_;
    std::condition_variable freed_;
    std::vector<std::unique_ptr<pg::Connection>> idle_;
    std::size_t open_ = 0;  // idle, leased, and being opened
};

}  // namespace plinth::hosting
