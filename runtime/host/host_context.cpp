#include "host/host_context.hpp"

#include <optional>
#include <vector>

#include <spdlog/spdlog.h>

#include "apply/upgrade.hpp"
#include "pg/error.hpp"

// An open transaction: one leased connection with BEGIN run on it. Shared between the context's
// registry and any call using it, so a commit racing a query on another thread never frees it
// under that query; `ended` tells late callers it is gone.
struct plinth_db_tx {
    std::mutex mu;
    std::optional<plinth::hosting::ConnectionPool::Lease> lease;
    std::optional<plinth::pg::Transaction> transaction;  // destroyed (rolled back) before the lease
    bool ended = false;
};

namespace plinth::hosting {

// What a plugin's plinth_host pointer points to. Allocated once per context and never freed (a
// few hundred bytes per plugin per run), so that a plugin thread calling after stop, or after
// plinth has freed everything else, still reads valid memory and is told no.
struct HostGate {
    plinth_host raw{};
    std::string plugin_name;
    std::mutex mu;
    PluginContext* context = nullptr;  // null once the host is closed to this plugin
};

namespace {

struct HostError : plinth_db_error {
    HostError(std::string s, std::string m, std::string d, std::string h)
        : plinth_db_error{}, sqlstate_text(std::move(s)), message_text(std::move(m)), detail_text(std::move(d)),
          hint_text(std::move(h)) {
        struct_size = sizeof(plinth_db_error);
        sqlstate = sqlstate_text.c_str();
        message = message_text.c_str();
        detail = detail_text.c_str();
        hint = hint_text.c_str();
    }
    std::string sqlstate_text, message_text, detail_text, hint_text;
};

struct HostResult : plinth_db_result {
    explicit HostResult(pg::Result r) : plinth_db_result{}, rows(std::move(r)) {
        const PGresult* res = rows.native();
        const int columns = PQnfields(res);
        const int count = PQntuples(res);
        names.reserve(static_cast<std::size_t>(columns));
        for (int c = 0; c < columns; ++c) names.push_back(PQfname(res, c));
        cells.reserve(static_cast<std::size_t>(columns) * static_cast<std::size_t>(count));
        // Values point into the PGresult, which lives as long as this object.
        for (int r = 0; r < count; ++r)
            for (int c = 0; c < columns; ++c) cells.push_back(PQgetisnull(res, r, c) ? nullptr : PQgetvalue(res, r, c));
        struct_size = sizeof(plinth_db_result);
        column_count = static_cast<std::uint32_t>(columns);
        row_count = static_cast<std::uint64_t>(count);
        affected_rows = static_cast<std::uint64_t>(rows.affected_rows());
        column_names = names.data();
        values = cells.data();
    }
    pg::Result rows;
    std::vector<const char*> names;
    std::vector<const char*> cells;
};

// A misuse of the API by the plugin, reported like a database error without SQLSTATE.
class CallError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

constexpr const char* kStopped = "plinth has stopped this plugin";

// The context behind `host`, held alive for the call; a CallError once the host is closed to the
// plugin.
std::shared_ptr<PluginContext> enter(const plinth_host* host) {
    if (!host || !host->host_data) throw CallError("the plinth_host pointer is NULL or not this host's");
    auto& gate = *static_cast<HostGate*>(host->host_data);
    std::lock_guard lock(gate.mu);
    // Empty too when the context is being destroyed: its destructor then waits for this lock.
    auto context = gate.context ? gate.context->weak_from_this().lock() : nullptr;
    if (!context) throw CallError(kStopped);
    return context;
}

// What libpq or the server said when the connection was lost, with its own SQLSTATE (57P01 when
// the server was shut down, say), for the plugin's log.
std::string lost_detail(const pg::Error& e) {
    return (e.sqlstate().empty() ? std::string() : e.sqlstate() + ": ") + e.message();
}

// Fills *error (when wanted) from the exception in flight; never throws. Every way of losing the
// connection (libpq's, or the server ending the session: 57P01, 57P02) is reported as
// PLINTH_DB_CONNECTION_LOST, so a plugin has one thing to test before retrying.
void report(plinth_db_error** error) noexcept {
    if (!error) return;
    *error = nullptr;
    try {
        try {
            throw;
        } catch (const pg::CommitInDoubt& e) {
            *error = new HostError(PLINTH_DB_CONNECTION_LOST,
                                   "the connection to the database was lost during COMMIT: the transaction may or "
                                   "may not have committed",
                                   lost_detail(e), "read back what the transaction wrote before writing it again");
        } catch (const pg::Error& e) {
            if (e.is_server_not_ready())  // no server took a new connection in time: class 08 as well
                *error = new HostError("08001", e.message(), lost_detail(e), e.hint());
            else if (e.is_connection_lost())
                *error = new HostError(PLINTH_DB_CONNECTION_LOST,
                                       "the connection to the database was lost (a failover or restart of the "
                                       "server?); the statement's outcome is unknown",
                                       lost_detail(e),
                                       "retry: the next call gets a new connection, to the new primary after a failover");
            else
                *error = new HostError(e.sqlstate(), e.message(), e.detail(), e.hint());
        } catch (const std::exception& e) {
            *error = new HostError("", e.what(), "", "");
        } catch (...) {
            *error = new HostError("", "unknown error in the host", "", "");
        }
    } catch (...) {  // out of memory: the status code still says it failed
    }
}

void clear(plinth_db_error** error) noexcept {
    if (error) *error = nullptr;
}

}  // namespace

// The functions behind plinth_host; each catches everything (see plinth_plugin.h).
struct HostAbi {
    static void log(const plinth_host* host, std::uint32_t level, const char* message) noexcept {
        try {
            enter(host)->logger_->log(apply::plugin_log_level(level), spdlog::string_view_t(message ? message : ""));
        } catch (...) {  // logging must never take the plugin down
        }
    }

    static void set_error(const plinth_host* host, const char* message) noexcept {
        try {
            const auto ctx = enter(host);
            std::lock_guard lock(ctx->mu_);
            ctx->error_ = message ? message : "";
        } catch (...) {
        }
    }

    static const char* config_get(const plinth_host* host, const char* key) noexcept {
        try {
            if (!key) return nullptr;
            // Borrowed until the plugin's stop returns (plinth_plugin.h): a context is closed no earlier.
            const std::string* value = enter(host)->config_.get(key);
            return value ? value->c_str() : nullptr;
        } catch (...) {
            return nullptr;
        }
    }

    static std::shared_ptr<plinth_db_tx> find(PluginContext& ctx, plinth_db_tx* tx, bool remove) {
        std::lock_guard lock(ctx.mu_);
        const auto it = ctx.transactions_.find(tx);
        if (it == ctx.transactions_.end())
            throw CallError("the transaction handle is not an open transaction of plugin \"" + ctx.name_ + "\"");
        auto found = it->second;
        if (remove) ctx.transactions_.erase(it);
        return found;
    }

    static std::uint32_t db_query(const plinth_host* host, plinth_db_tx* tx, const char* sql,
                                  std::uint32_t param_count, const char* const* params, plinth_db_result** result,
                                  plinth_db_error** error) noexcept {
        try {
            if (result) *result = nullptr;
            clear(error);
            const auto held = enter(host);
            auto& ctx = *held;
            if (!sql) throw CallError("db_query: sql is NULL");
            if (!result) throw CallError("db_query: result is NULL");
            if (param_count > 0 && !params) throw CallError("db_query: params is NULL");
            std::vector<std::optional<std::string>> values;
            values.reserve(param_count);
            for (std::uint32_t i = 0; i < param_count; ++i)
                values.push_back(params[i] ? std::optional<std::string>(params[i]) : std::nullopt);
            std::optional<pg::Result> rows;
            if (tx) {
                const auto open = find(ctx, tx, false);
                std::lock_guard lock(open->mu);
                if (open->ended) throw CallError("db_query: the transaction has already ended");
                rows.emplace((*open->lease)->exec_params(sql, values));
            } else {
                auto lease = ctx.pool_->checkout();
                // Session state must not reach the next caller of this connection; marked before
                // running, since some of it outlives a failed statement.
                if (statement_may_leave_session_state(sql)) lease.reset_session_on_return();
                rows.emplace(lease->exec_params(sql, values));
                if (command_may_leave_session_state(rows->command_status())) lease.reset_session_on_return();
            }
            *result = new HostResult(std::move(*rows));
            return PLINTH_OK;
        } catch (...) {
            report(error);
            return PLINTH_ERROR;
        }
    }

    static void db_result_free(const plinth_host*, plinth_db_result* result) noexcept {
        delete static_cast<HostResult*>(result);
    }

    static std::uint32_t db_begin(const plinth_host* host, const char* isolation_level, plinth_db_tx** tx,
                                  plinth_db_error** error) noexcept {
        try {
            if (tx) *tx = nullptr;
            clear(error);
            const auto held = enter(host);
            auto& ctx = *held;
            if (!tx) throw CallError("db_begin: tx is NULL");
            auto open = std::make_shared<plinth_db_tx>();
            open->lease.emplace(ctx.pool_->checkout());
            // A transaction may SET (not LOCAL), create temporary tables, LISTEN...: always reset.
            open->lease->reset_session_on_return();
            open->transaction.emplace(**open->lease, isolation_level ? isolation_level : "");
            std::lock_guard lock(ctx.mu_);
            ctx.transactions_.emplace(open.get(), open);
            *tx = open.get();
            return PLINTH_OK;
        } catch (...) {
            report(error);
            return PLINTH_ERROR;
        }
    }

    static std::uint32_t end(const plinth_host* host, plinth_db_tx* tx, bool commit, plinth_db_error** error) noexcept {
        try {
            clear(error);
            const auto held = enter(host);
            auto& ctx = *held;
            const auto open = find(ctx, tx, true);
            std::lock_guard lock(open->mu);
            open->ended = true;
            // Whatever happens, the transaction ends (ROLLBACK unless committed) and the connection
            // goes back to the pool when this scope ends.
            struct Release {
                plinth_db_tx& tx;
                ~Release() {
                    tx.transaction.reset();
                    tx.lease.reset();
                }
            } release{*open};
            if (commit) open->transaction->commit();
            return PLINTH_OK;
        } catch (...) {
            report(error);
            return PLINTH_ERROR;
        }
    }

    static std::uint32_t db_commit(const plinth_host* host, plinth_db_tx* tx, plinth_db_error** error) noexcept {
        return end(host, tx, true, error);
    }

    static std::uint32_t db_rollback(const plinth_host* host, plinth_db_tx* tx, plinth_db_error** error) noexcept {
        return end(host, tx, false, error);
    }

    static void db_error_free(const plinth_host*, plinth_db_error* error) noexcept {
        delete static_cast<HostError*>(error);
    }
};

PluginContext::PluginContext(std::string plugin_name, std::shared_ptr<spdlog::logger> logger, PluginConfig config,
                             std::shared_ptr<ConnectionPool> pool)
    : name_(std::move(plugin_name)), logger_(std::move(logger)), config_(std::move(config)), pool_(std::move(pool)),
      gate_(new HostGate) {
    gate_->plugin_name = name_;
    gate_->context = this;
    auto& raw = gate_->raw;
    raw.struct_size = sizeof(plinth_host);
    raw.abi_minor = PLINTH_ABI_MINOR;
    raw.host_data = gate_;
    raw.plugin_name = gate_->plugin_name.c_str();
    raw.log = &HostAbi::log;
    raw.set_error = &HostAbi::set_error;
    raw.config_get = &HostAbi::config_get;
    raw.db_query = &HostAbi::db_query;
    raw.db_result_free = &HostAbi::db_result_free;
    raw.db_begin = &HostAbi::db_begin;
    raw.db_commit = &HostAbi::db_commit;
    raw.db_rollback = &HostAbi::db_rollback;
    raw.db_error_free = &HostAbi::db_error_free;
}

PluginContext::~PluginContext() {
    close_host();
    close_transactions();
}

const plinth_host* PluginContext::raw() const noexcept { return &gate_->raw; }

void PluginContext::close_host() noexcept {
    std::lock_guard lock(gate_->mu);
    gate_->context = nullptr;
}

void PluginContext::clear_error() {
    std::lock_guard lock(mu_);
    error_.clear();
}

std::string PluginContext::error() const {
    std::lock_guard lock(mu_);
    return error_;
}

std::size_t PluginContext::close_transactions() noexcept {
    std::unordered_map<plinth_db_tx*, std::shared_ptr<plinth_db_tx>> left;
    {
        std::lock_guard lock(mu_);
        left.swap(transactions_);
    }
    for (auto& [raw, open] : left) {
        std::lock_guard lock(open->mu);
        open->ended = true;
        open->transaction.reset();  // ROLLBACK
        open->lease.reset();
    }
    return left.size();
}

}  // namespace plinth::hosting
