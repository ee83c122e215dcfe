#include "apply/upgrade.hpp"

#include <algorithm>
#include <cctype>

#include <spdlog/spdlog.h>

#include "apply/upgrade_host.hpp"
#include "model/text.hpp"

namespace plinth::apply {
namespace {

// The first word of a statement, lower-cased, past blanks and comments.
std::string leading_keyword(const std::string& sql) {
    std::size_t i = 0;
    for (;;) {
        while (i < sql.size() && std::isspace(static_cast<unsigned char>(sql[i]))) ++i;
        if (sql.compare(i, 2, "--") == 0) {
            i = sql.find('\n', i);
            if (i == std::string::npos) return {};
            continue;
        }
        if (sql.compare(i, 2, "/*") == 0) {  // PostgreSQL's block comments nest
            int depth = 0;
            do {
                if (sql.compare(i, 2, "/*") == 0) { ++depth; i += 2; }
                else if (sql.compare(i, 2, "*/") == 0) { --depth; i += 2; }
                else ++i;
            } while (depth > 0 && i < sql.size());
            continue;
        }
        break;
    }
    std::string word;
    while (i < sql.size() && std::isalpha(static_cast<unsigned char>(sql[i])))
        word += static_cast<char>(std::tolower(static_cast<unsigned char>(sql[i++])));
    return word;
}

bool transaction_control(const std::string& keyword) {
    static const char* const refused[] = {"begin", "start", "commit", "end", "rollback", "abort", "savepoint", "release",
                                          "prepare"};
    return std::find(std::begin(refused), std::end(refused), keyword) != std::end(refused);
}

CallFailure failure_of(const pg::Error& e) { return {e.sqlstate(), e.message(), e.detail(), e.hint()}; }

std::string savepoint_name(std::uint64_t id) { return "plinth_upgrade_" + std::to_string(id); }

class InProcess final : public UpgradeRunner {
public:
    explicit InProcess(ConfigLookup config) : config_(std::move(config)) {}
    void run(const UpgradeStep& step, pg::Connection& connection, spdlog::logger& log) override {
        UpgradeSession session(connection, *step.plugin, log, config_);
        UpgradeHost host(step.plugin->name, session);
        const auto status = step.plugin->lifecycle.upgrade(host.raw(), step.previous_version.c_str());
        session.finish(status, step, {});
    }

private:
    ConfigLookup config_;
};

}  // namespace

spdlog::level::level_enum plugin_log_level(std::uint32_t level) {
    switch (level) {
        case PLINTH_LOG_TRACE: return spdlog::level::trace;
        case PLINTH_LOG_DEBUG: return spdlog::level::debug;
        case PLINTH_LOG_INFO: return spdlog::level::info;
        case PLINTH_LOG_WARN: return spdlog::level::warn;
        default: return spdlog::level::err;
    }
}

std::string describe(const UpgradeStep& step) {
    return "plugin \"" + step.plugin->name + "\" (" + step.plugin->file + "), phase upgrade (from version " +
           step.previous_version + " to " + step.plugin->version + ")";
}

UpgradeSession::UpgradeSession(pg::Connection& connection, const model::Plugin& plugin, spdlog::logger& log,
                               ConfigLookup config)
    : connection_(connection), plugin_(plugin), log_(log), config_(std::move(config)) {}

std::vector<UpgradeSession::Savepoint>::iterator UpgradeSession::find(std::uint64_t tx) {
    return std::find_if(open_.begin(), open_.end(), [&](const Savepoint& s) { return s.id == tx; });
}

std::optional<CallFailure> UpgradeSession::query(std::uint64_t tx, const std::string& sql,
                                                 const std::vector<std::optional<std::string>>& params, Rows& rows) {
    if (fatal_)
        return CallFailure{"25P02", "the migration's transaction failed earlier in this upgrade step (" + fatal_->message() +
                                        "); every statement fails until the step returns", "", ""};
    if (const auto keyword = leading_keyword(sql); transaction_control(keyword)) {
        misuse_ = "db_query: " + keyword + " refused";
        return CallFailure{"", "db_query: " + keyword +
                                   " is refused in an upgrade step: it runs inside plinth's migration transaction; use "
                                   "db_begin, db_commit and db_rollback (savepoints)", "", ""};
    }
    if (tx != 0 && find(tx) == open_.end())
        return CallFailure{"", "db_query: the transaction handle is not an open transaction of this upgrade step", "", ""};
    for (const auto& s : open_)
        if (s.failed)
            return CallFailure{"25P02", "current transaction is aborted (" + s.why +
                                            "); roll it back with db_rollback first", "", ""};
    try {
        const auto result = connection_.exec_params(sql, params);
        rows = Rows{};
        for (int c = 0; c < result.columns(); ++c) rows.names.emplace_back(result.column_name(c));
        for (int r = 0; r < result.rows(); ++r)
            for (int c = 0; c < result.columns(); ++c) {
                const auto v = result.value(r, c);
                rows.values.push_back(v ? std::optional<std::string>(*v) : std::nullopt);
            }
        rows.affected = static_cast<std::uint64_t>(std::max(0L, result.affected_rows()));
        return std::nullopt;
    } catch (const pg::Error& e) {
        if (tx == 0 || open_.empty() || e.is_connection_lost()) {
            fatal_.emplace(e);
        } else {
            open_.back().failed = true;
            open_.back().why = e.message();
        }
        return failure_of(e);
    }
}

std::optional<CallFailure> UpgradeSession::begin(const std::optional<std::string>& isolation_level, std::uint64_t& tx) {
    if (fatal_) return CallFailure{"25P02", "the migration's transaction failed earlier in this upgrade step", "", ""};
    if (isolation_level)
        return CallFailure{"", "db_begin: an upgrade step's transaction is a savepoint of the migration's transaction and "
                               "takes no isolation level of its own: pass NULL", "", ""};
    for (const auto& s : open_)
        if (s.failed)
            return CallFailure{"25P02", "current transaction is aborted (" + s.why + "); roll it back with db_rollback first",
                               "", ""};
    const auto id = next_id_++;
    try {
        connection_.exec("SAVEPOINT " + savepoint_name(id));
    } catch (const pg::Error& e) {
        fatal_.emplace(e);
        return failure_of(e);
    }
    open_.push_back({id, false, {}});
    tx = id;
    return std::nullopt;
}

std::optional<CallFailure> UpgradeSession::end(std::uint64_t tx, bool commit) {
    const auto it = find(tx);
    if (it == open_.end())
        return CallFailure{"", "the transaction handle is not an open transaction of this upgrade step", "", ""};
    if (it + 1 != open_.end())
        return CallFailure{"", "only the innermost open transaction can end: in an upgrade step they are nested savepoints",
                           "", ""};
    const Savepoint ending = *it;
    open_.pop_back();
    if (fatal_) return CallFailure{"25P02", "the migration's transaction failed earlier in this upgrade step", "", ""};
    try {
        if (commit && !ending.failed) {
            connection_.exec("RELEASE SAVEPOINT " + savepoint_name(ending.id));
            return std::nullopt;
        }
        connection_.exec("ROLLBACK TO SAVEPOINT " + savepoint_name(ending.id) + "; RELEASE SAVEPOINT " +
                         savepoint_name(ending.id));
    } catch (const pg::Error& e) {
        fatal_.emplace(e);
        return failure_of(e);
    }
    if (commit) return CallFailure{"25P02", "the transaction had failed (" + ending.why + ") and was rolled back", "", ""};
    return std::nullopt;
}

void UpgradeSession::log(std::uint32_t level, const std::string& message) {
    log_.log(plugin_log_level(level), "plugin \"{}\" (upgrade): {}", plugin_.name, model::escape_text(message));
}

std::optional<std::string> UpgradeSession::config(const std::string& key) {
    return config_ ? config_(plugin_.name, key) : std::nullopt;
}

void UpgradeSession::finish(std::uint32_t status, const UpgradeStep& step, const std::string& failure) {
    if (!fatal_ && failure.empty())
        while (!open_.empty()) {
            log_.warn("{}: a transaction left open by the step is rolled back", describe(step));
            end(open_.back().id, false);
        }
    const std::string head = describe(step) + ": ";
    if (!failure.empty()) throw UpgradeError(head + failure);
    if (fatal_) {
        if (fatal_->is_lock_failure()) throw *fatal_;
        throw UpgradeError(head + "a statement failed\n  " + fatal_->what());
    }
    if (status != PLINTH_OK)
        throw UpgradeError(head + "returned an error: " +
                           (error_.empty() ? "it did not say why (call set_error before returning PLINTH_ERROR)"
                                           : model::escape_text(error_)) +
                           (misuse_.empty() ? "" : " (" + misuse_ + ")"));
}

std::unique_ptr<UpgradeRunner> in_process_upgrades(ConfigLookup config) {
    return std::make_unique<InProcess>(std::move(config));
}

}  // namespace plinth::apply
