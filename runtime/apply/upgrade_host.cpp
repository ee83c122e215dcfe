#include "apply/upgrade_host.hpp"

#include <cstdint>
#include <optional>
#include <vector>

namespace plinth::apply {
namespace {

struct StepError : plinth_db_error {
    explicit StepError(CallFailure f) : plinth_db_error{}, failure(std::move(f)) {
        struct_size = sizeof(plinth_db_error);
        sqlstate = failure.sqlstate.c_str();
        message = failure.message.c_str();
        detail = failure.detail.c_str();
        hint = failure.hint.c_str();
    }
    CallFailure failure;
};

struct StepResult : plinth_db_result {
    explicit StepResult(Rows r) : plinth_db_result{}, rows(std::move(r)) {
        for (const auto& n : rows.names) names.push_back(n.c_str());
        for (const auto& v : rows.values) cells.push_back(v ? v->c_str() : nullptr);
        struct_size = sizeof(plinth_db_result);
        column_count = static_cast<std::uint32_t>(names.size());
        row_count = names.empty() ? 0 : rows.values.size() / names.size();
        affected_rows = rows.affected;
        column_names = names.data();
        values = cells.data();
    }
    Rows rows;
    std::vector<const char*> names;
    std::vector<const char*> cells;
};

UpgradeHost& host_of(const plinth_host* host) {
    if (!host || !host->host_data) throw std::invalid_argument("the plinth_host pointer is NULL or not this host's");
    return *static_cast<UpgradeHost*>(host->host_data);
}

// A savepoint's id as the plugin's opaque handle, and back; 0 is NULL.
plinth_db_tx* handle(std::uint64_t id) { return reinterpret_cast<plinth_db_tx*>(static_cast<std::uintptr_t>(id)); }
std::uint64_t id_of(plinth_db_tx* tx) { return static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(tx)); }

std::uint32_t fail(plinth_db_error** error, CallFailure failure) noexcept {
    if (error) {
        try {
            *error = new StepError(std::move(failure));
        } catch (...) {
            *error = nullptr;
        }
    }
    return PLINTH_ERROR;
}

std::uint32_t fail_here(plinth_db_error** error) noexcept {
    try {
        throw;
    } catch (const std::exception& e) {
        return fail(error, {"", e.what(), "", ""});
    } catch (...) {
        return fail(error, {"", "unknown error in the host", "", ""});
    }
}

}  // namespace

struct UpgradeAbi {
    static void log(const plinth_host* host, std::uint32_t level, const char* message) noexcept {
        try {
            auto& h = host_of(host);
            std::lock_guard lock(h.mu_);
            h.backend_.log(level, message ? message : "");
        } catch (...) {
        }
    }

    static void set_error(const plinth_host* host, const char* message) noexcept {
        try {
            auto& h = host_of(host);
            std::lock_guard lock(h.mu_);
            h.backend_.set_error(message ? message : "");
        } catch (...) {
        }
    }

    static const char* config_get(const plinth_host* host, const char* key) noexcept {
        try {
            if (!key) return nullptr;
            auto& h = host_of(host);
            std::lock_guard lock(h.mu_);
            if (auto it = h.config_.find(key); it != h.config_.end()) return it->second.c_str();
            const auto value = h.backend_.config(key);
            if (!value) return nullptr;
            return h.config_.emplace(key, *value).first->second.c_str();
        } catch (...) {
            return nullptr;
        }
    }

    static std::uint32_t db_query(const plinth_host* host, plinth_db_tx* tx, const char* sql, std::uint32_t param_count,
                                  const char* const* params, plinth_db_result** result, plinth_db_error** error) noexcept {
        try {
            if (result) *result = nullptr;
            if (error) *error = nullptr;
            auto& h = host_of(host);
            if (!sql) return fail(error, {"", "db_query: sql is NULL", "", ""});
            if (!result) return fail(error, {"", "db_query: result is NULL", "", ""});
            if (param_count > 0 && !params) return fail(error, {"", "db_query: params is NULL", "", ""});
            std::vector<std::optional<std::string>> values;
            for (std::uint32_t i = 0; i < param_count; ++i)
                values.push_back(params[i] ? std::optional<std::string>(params[i]) : std::nullopt);
            Rows rows;
            std::lock_guard lock(h.mu_);
            if (auto failure = h.backend_.query(id_of(tx), sql, values, rows)) return fail(error, std::move(*failure));
            *result = new StepResult(std::move(rows));
            return PLINTH_OK;
        } catch (...) {
            return fail_here(error);
        }
    }

    static void db_result_free(const plinth_host*, plinth_db_result* result) noexcept {
        delete static_cast<StepResult*>(result);
    }

    static std::uint32_t db_begin(const plinth_host* host, const char* isolation_level, plinth_db_tx** tx,
                                  plinth_db_error** error) noexcept {
        try {
            if (tx) *tx = nullptr;
            if (error) *error = nullptr;
            auto& h = host_of(host);
            if (!tx) return fail(error, {"", "db_begin: tx is NULL", "", ""});
            std::uint64_t id = 0;
            std::lock_guard lock(h.mu_);
            if (auto failure = h.backend_.begin(isolation_level ? std::optional<std::string>(isolation_level) : std::nullopt, id))
                return fail(error, std::move(*failure));
            *tx = handle(id);
            return PLINTH_OK;
        } catch (...) {
            return fail_here(error);
        }
    }

    static std::uint32_t end(const plinth_host* host, plinth_db_tx* tx, bool commit, plinth_db_error** error) noexcept {
        try {
            if (error) *error = nullptr;
            auto& h = host_of(host);
            std::lock_guard lock(h.mu_);
            if (auto failure = h.backend_.end(id_of(tx), commit)) return fail(error, std::move(*failure));
            return PLINTH_OK;
        } catch (...) {
            return fail_here(error);
        }
    }

    static std::uint32_t db_commit(const plinth_host* host, plinth_db_tx* tx, plinth_db_error** error) noexcept {
        return end(host, tx, true, error);
    }
    static std::uint32_t db_rollback(const plinth_host* host, plinth_db_tx* tx, plinth_db_error** error) noexcept {
        return end(host, tx, false, error);
    }
    static void db_error_free(const plinth_host*, plinth_db_error* error) noexcept { delete static_cast<StepError*>(error); }
};

UpgradeHost::UpgradeHost(const std::string& plugin_name, UpgradeBackend& backend) : name_(plugin_name), backend_(backend) {
    raw_.struct_size = sizeof(plinth_host);
    raw_.abi_minor = PLINTH_ABI_MINOR;
    raw_.host_data = this;
    raw_.plugin_name = name_.c_str();
    raw_.log = &UpgradeAbi::log;
    raw_.set_error = &UpgradeAbi::set_error;
    raw_.config_get = &UpgradeAbi::config_get;
    raw_.db_query = &UpgradeAbi::db_query;
    raw_.db_result_free = &UpgradeAbi::db_result_free;
    raw_.db_begin = &UpgradeAbi::db_begin;
    raw_.db_commit = &UpgradeAbi::db_commit;
    raw_.db_rollback = &UpgradeAbi::db_rollback;
    raw_.db_error_free = &UpgradeAbi::db_error_free;
}

}  // namespace plinth::apply
