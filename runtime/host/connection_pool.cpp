#include "host/connection_pool.hpp"

#include <spdlog/spdlog.h>

namespace plinth::hosting {

ConnectionPool::Lease::Lease(ConnectionPool& pool, std::unique_ptr<pg::Connection> conn) noexcept
    : pool_(&pool), conn_(std::move(conn)) {}

ConnectionPool::Lease::Lease(Lease&& other) noexcept
    : pool_(other.pool_), conn_(std::move(other.conn_)), reset_session_(other.reset_session_) {}

ConnectionPool::Lease::~Lease() {
    if (conn_) pool_->give_back(std::move(conn_), reset_session_);
}

namespace {

// Reads whatever waits on an idle connection, without blocking: a FATAL message the server sent
// when it ended the session (parsed by PQisBusy, reported as a notice), then the end-of-file after
// it, which makes the connection CONNECTION_BAD.
bool still_open(PGconn* conn) {
    for (int round = 0; round < 2; ++round) {
        if (PQconsumeInput(conn) == 0) return false;
        PQisBusy(conn);
    }
    return PQstatus(conn) == CONNECTION_OK;
}

}  // namespace

ConnectionPool::ConnectionPool(std::string conninfo, std::size_t size, std::chrono::milliseconds checkout_timeout,
                               std::shared_ptr<spdlog::logger> log)
    : conninfo_(std::move(conninfo)), size_(size), checkout_timeout_(checkout_timeout), log_(std::move(log)) {
    if (size_ == 0) throw std::invalid_argument("the connection pool needs at least one connection");
}

ConnectionPool::~ConnectionPool() = default;

ConnectionPool::Lease ConnectionPool::checkout() {
    std::unique_lock lock(mu_);
    const bool available = freed_.wait_for(lock, checkout_timeout_, [this] { return !idle_.empty() || open_ < size_; });
    if (!available) {
        pg::ErrorFields f;
        f.message = "no database connection came free within " + std::to_string(checkout_timeout_.count()) +
                    " ms (all " + std::to_string(size_) + " of the pool are in use)";
        f.hint = "raise --pool-size, or keep transactions short";
        throw pg::Error(std::move(f));
    }
    while (!idle_.empty()) {
        auto conn = std::move(idle_.back());
        idle_.pop_back();
        // A connection the server closed while it sat idle (a failover, a restart, an idle timeout)
        // has an end-of-file or a FATAL message waiting: reading what is there, without blocking,
        // finds it, and the caller gets a new connection instead of an error for a statement that
        // never ran. A server that vanished without closing is found only by the next statement.
        if (still_open(conn->native())) return Lease(*this, std::move(conn));
        std::string why = PQerrorMessage(conn->native());
        while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
        log_->info("dropped a pooled database connection the server had closed ({})", why);
        conn.reset();
        --open_;
    }
    // Open outside the lock so other callers are not held up by a slow server; the slot is ours.
    ++open_;
    lock.unlock();
    try {
        auto conn = std::make_unique<pg::Connection>(pg::connect_with_retry(conninfo_, checkout_timeout_, *log_));
        log_->debug("opened pooled database connection to {}", conn->redacted_conninfo());
        return Lease(*this, std::move(conn));
    } catch (...) {
        lock.lock();
        --open_;
        freed_.notify_one();
        throw;
    }
}

void ConnectionPool::give_back(std::unique_ptr<pg::Connection> conn, bool reset_session) noexcept {
    // A connection goes back only when it is healthy and outside any transaction, so the next
    // caller never inherits another caller's failed or open transaction, nor, when the lease
    // asked for it, its session state.
    bool reusable = PQstatus(conn->native()) == CONNECTION_OK;
    if (reusable) {
        const auto state = PQtransactionStatus(conn->native());
        if (state == PQTRANS_INTRANS || state == PQTRANS_INERROR) {
            try {
                conn->exec("ROLLBACK");
            } catch (...) {
                reusable = false;
            }
        } else if (state != PQTRANS_IDLE) {
            reusable = false;
        }
    }
    if (reusable && reset_session) {
        try {
            conn->exec("DISCARD ALL");  // outside a transaction block, as it must be
        } catch (...) {
            reusable = false;
        }
    }
    if (!reusable) conn.reset();  // closed outside the lock
    std::lock_guard lock(mu_);
    if (conn)
        idle_.push_back(std::move(conn));
    else
        --open_;
    freed_.notify_one();
}

namespace {

bool is_identifier_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '$' ||
           static_cast<unsigned char>(c) >= 0x80;
}

std::string lowercase(std::string_view word) {
    std::string out(word);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

}  // namespace

bool statement_may_leave_session_state(std::string_view sql) {
    // Word by word, ignoring quoting: a word inside a string or a quoted identifier only costs a
    // needless reset.
    static constexpr std::string_view kWords[] = {
        "temp", "temporary", "set_config", "pg_advisory_lock", "pg_advisory_lock_shared",
        "pg_try_advisory_lock", "pg_try_advisory_lock_shared",
    };
    for (std::size_t i = 0; i < sql.size();) {
        if (!is_identifier_char(sql[i])) {
            ++i;
            continue;
        }
        std::size_t end = i;
        while (end < sql.size() && is_identifier_char(sql[end])) ++end;
        const std::string word = lowercase(sql.substr(i, end - i));
        for (const auto known : kWords)
            if (word == known) return true;
        i = end;
    }
    return false;
}

bool command_may_leave_session_state(std::string_view command_status) {
    const std::string_view tag = command_status.substr(0, command_status.find(' '));
    return !(tag == "SELECT" || tag == "INSERT" || tag == "UPDATE" || tag == "DELETE" || tag == "MERGE");
}

}  // namespace plinth::hosting
