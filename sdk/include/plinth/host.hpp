// plinth C++ SDK: the host API as ordinary C++ (part of plinth.hpp; include that one).
//
//   void start(plinth::host h) {
//       auto agent = h.query("SELECT id FROM agents WHERE name = $1", {"plinth-demo"});
//       plinth::transaction tx(h);
//       tx.execute("INSERT INTO projects (agent_id, name) VALUES ($1, $2)", {agent[0][0], "Launch"});
//       tx.commit();  // without it, the transaction rolls back when tx goes out of scope
//       h.info("greeting: " + h.config("greeting").value_or("hello"));
//   }
//
// Failures throw here, on the plugin's side of the ABI: plinth::db_error for the database, and the
// SDK's lifecycle thunks turn an escaping exception into the lifecycle call's error.
#pragma once

#include <plinth/plinth_plugin.h>

#include <charconv>
#include <concepts>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

namespace plinth {

// A database failure: the SQLSTATE (empty when there is none, e.g. no pooled connection was free
// in time) and PostgreSQL's message, detail and hint.
class db_error : public std::runtime_error {
public:
    db_error(std::string sqlstate, std::string message, std::string detail = {}, std::string hint = {})
        : std::runtime_error(describe(sqlstate, message, detail, hint)),
          sqlstate_(std::move(sqlstate)), message_(std::move(message)),
          detail_(std::move(detail)), hint_(std::move(hint)) {}

    const std::string& sqlstate() const noexcept { return sqlstate_; }
    const std::string& message() const noexcept { return message_; }
    const std::string& detail() const noexcept { return detail_; }
    const std::string& hint() const noexcept { return hint_; }

private:
    // what(): "ERROR 23505: duplicate key value ... (detail: ...) (hint: ...)"
    static std::string describe(const std::string& sqlstate, const std::string& message,
                                const std::string& detail, const std::string& hint) {
        std::string text = sqlstate.empty() ? "database error: " : "ERROR " + sqlstate + ": ";
        text += message;
        if (!detail.empty()) text += " (detail: " + detail + ")";
        if (!hint.empty()) text += " (hint: " + hint + ")";
        return text;
    }
    std::string sqlstate_;
    std::string message_;
    std::string detail_;
    std::string hint_;
};

// One statement parameter, sent as text: strings as they are, numbers in decimal, booleans as
// true/false, std::nullopt (or an empty optional) as SQL NULL.
class param {
public:
    param(std::nullopt_t) {}
    param(std::optional<std::string> value) : value_(std::move(value)) {}
    param(std::string value) : value_(std::move(value)) {}
    param(std::string_view value) : value_(std::string(value)) {}
    param(const char* value) {
        if (value) value_ = value;
    }
    param(bool value) : value_(value ? "true" : "false") {}
    template <class T>
        requires(std::is_arithmetic_v<T> && !std::same_as<T, bool>)
    param(T value) {
        char buffer[64];
        auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
        if (ec != std::errc()) throw std::invalid_argument("plinth::param: number does not fit");
        value_ = std::string(buffer, end);
    }

    const std::optional<std::string>& value() const noexcept { return value_; }

private:
    std::optional<std::string> value_;
};

using params = std::vector<param>;

// The rows of one statement, copied out of the host's result: text values, std::nullopt for NULL.
class result {
public:
    using value = std::optional<std::string>;
    using row = std::vector<value>;

    const std::vector<std::string>& columns() const noexcept { return columns_; }
    const std::vector<row>& rows() const noexcept { return rows_; }
    std::size_t size() const noexcept { return rows_.size(); }
    bool empty() const noexcept { return rows_.empty(); }
    const row& operator[](std::size_t i) const { return rows_[i]; }
    auto begin() const noexcept { return rows_.begin(); }
    auto end() const noexcept { return rows_.end(); }
    // Rows inserted, updated, deleted or returned; 0 when the command reports no count.
    std::uint64_t affected_rows() const noexcept { return affected_rows_; }

    // The position of a column by exact name; throws std::out_of_range naming it when absent.
    std::size_t column(std::string_view name) const {
        for (std::size_t i = 0; i < columns_.size(); ++i)
            if (columns_[i] == name) return i;
        throw std::out_of_range("no column \"" + std::string(name) + "\" in the result");
    }
    const value& at(std::size_t row_index, std::string_view column_name) const {
        return rows_.at(row_index).at(column(column_name));
    }

private:
    friend class host;
    std::vector<std::string> columns_;
    std::vector<row> rows_;
    std::uint64_t affected_rows_ = 0;
};

class transaction;

// The C++ face of plinth_host, handed to lifecycle methods. A plain handle: copy it freely, use it
// from the plugin's own threads, until stop returns.
class host {
public:
    explicit host(const plinth_host* raw) : raw_(raw) {}
    std::string_view plugin_name() const { return raw_->plugin_name ? raw_->plugin_name : ""; }
    void log(plinth_log_level level, const std::string& message) const {
        raw_->log(raw_, static_cast<std::uint32_t>(level), message.c_str());
    }
    void trace(const std::string& m) const { log(PLINTH_LOG_TRACE, m); }
    void debug(const std::string& m) const { log(PLINTH_LOG_DEBUG, m); }
    void info(const std::string& m) const { log(PLINTH_LOG_INFO, m); }
    void warn(const std::string& m) const { log(PLINTH_LOG_WARN, m); }
    void error(const std::string& m) const { log(PLINTH_LOG_ERROR, m); }
    const plinth_host* raw() const { return raw_; }

    // This plugin's configuration value, or nullopt when it is not set (see plinth_host.config_get).
    std::optional<std::string> config(const std::string& key) const {
        require(PLINTH_HOST_HAS(raw_, config_get), "configuration");
        const char* value = raw_->config_get(raw_, key.c_str());
        if (!value) return std::nullopt;
        return std::string(value);
    }

    // Runs one statement with $1..$n bound to params, on a connection of the host's pool.
    result query(const std::string& sql, const params& values = {}) const { return run(nullptr, sql, values); }
    // Runs one statement and returns the number of rows it affected.
    std::uint64_t execute(const std::string& sql, const params& values = {}) const {
        return query(sql, values).affected_rows();
    }

private:
    friend class transaction;

    void require(bool present, const char* what) const {
        if (!present)
            throw std::runtime_error(std::string("this plinth host offers no ") + what + " (plugin ABI 1." +
                                     std::to_string(raw_->abi_minor) + ")");
    }

    // Turns a host error into db_error, freeing it.
    [[noreturn]] void fail(plinth_db_error* error) const {
        if (!error) throw db_error("", "the host reported a failure without details");
        db_error e(error->sqlstate, error->message, error->detail, error->hint);
        raw_->db_error_free(raw_, error);
        throw e;
    }

    result run(plinth_db_tx* tx, const std::string& sql, const params& values) const {
        require(PLINTH_HOST_HAS(raw_, db_error_free), "database access");
        std::vector<const char*> pointers;
        pointers.reserve(values.size());
        for (const auto& p : values) pointers.push_back(p.value() ? p.value()->c_str() : nullptr);
        plinth_db_result* raw_result = nullptr;
        plinth_db_error* error = nullptr;
        if (raw_->db_query(raw_, tx, sql.c_str(), static_cast<std::uint32_t>(pointers.size()), pointers.data(),
                           &raw_result, &error) != PLINTH_OK)
            fail(error);
        // Frees the host's result even when copying throws.
        struct release {
            const plinth_host* h;
            plinth_db_result* r;
            ~release() { h->db_result_free(h, r); }
        } guard{raw_, raw_result};
        result out;
        out.affected_rows_ = raw_result->affected_rows;
        out.columns_.reserve(raw_result->column_count);
        for (std::uint32_t c = 0; c < raw_result->column_count; ++c)
            out.columns_.emplace_back(raw_result->column_names[c]);
        out.rows_.reserve(raw_result->row_count);
        for (std::uint64_t r = 0; r < raw_result->row_count; ++r) {
            auto& row = out.rows_.emplace_back();
            row.reserve(raw_result->column_count);
            for (std::uint32_t c = 0; c < raw_result->column_count; ++c) {
                const char* v = raw_result->values[r * raw_result->column_count + c];
                row.push_back(v ? result::value(v) : std::nullopt);
            }
        }
        return out;
    }

    const plinth_host* raw_;
};

// A database transaction on one pooled connection. Rolls back when destroyed unless commit() ran;
// query and execute run inside it. Move-only.
class transaction {
public:
    // isolation_level: empty for the server's default, or "READ COMMITTED", "REPEATABLE READ",
    // "SERIALIZABLE". Throws db_error when no transaction could be opened.
    explicit transaction(const host& h, const std::string& isolation_level = {}) : host_(h) {
        host_.require(PLINTH_HOST_HAS(host_.raw_, db_error_free), "database access");
        plinth_db_error* error = nullptr;
        if (host_.raw_->db_begin(host_.raw_, isolation_level.empty() ? nullptr : isolation_level.c_str(), &tx_,
                                 &error) != PLINTH_OK)
            host_.fail(error);
    }
    transaction(transaction&& other) noexcept : host_(other.host_), tx_(std::exchange(other.tx_, nullptr)) {}
    transaction& operator=(transaction&& other) noexcept {
        if (this != &other) {
            rollback_quietly();
            host_ = other.host_;
            tx_ = std::exchange(other.tx_, nullptr);
        }
        return *this;
    }
    transaction(const transaction&) = delete;
    transaction& operator=(const transaction&) = delete;
    ~transaction() { rollback_quietly(); }

    result query(const std::string& sql, const params& values = {}) const {
        return host_.run(active(), sql, values);
    }
    std::uint64_t execute(const std::string& sql, const params& values = {}) const {
        return query(sql, values).affected_rows();
    }

    // Ends the transaction: committed, or rolled back with db_error thrown when the commit fails.
    void commit() { finish(host_.raw_->db_commit); }
    void rollback() { finish(host_.raw_->db_rollback); }
    // True until commit() or rollback() ends the transaction.
    bool open() const noexcept { return tx_ != nullptr; }

private:
    using end_fn = uint32_t (*)(const plinth_host*, plinth_db_tx*, plinth_db_error**);

    plinth_db_tx* active() const {
        if (!tx_) throw std::logic_error("plinth::transaction used after commit or rollback");
        return tx_;
    }
    // The handle is gone after the call whatever its outcome (see plinth_host.db_commit).
    void finish(end_fn end) {
        plinth_db_tx* tx = active();
        tx_ = nullptr;
        plinth_db_error* error = nullptr;
        if (end(host_.raw_, tx, &error) != PLINTH_OK) host_.fail(error);
    }
    void rollback_quietly() noexcept {
        if (tx_) host_.raw_->db_rollback(host_.raw_, std::exchange(tx_, nullptr), nullptr);
    }

    host host_;
    plinth_db_tx* tx_ = nullptr;
};

}  // namespace plinth
