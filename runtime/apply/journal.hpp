// plinth's own bookkeeping in schema "plinth": the history of applied migrations, per plugin, and
// the state the fast path compares against. Every function runs inside the caller's transaction.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "model/schema.hpp"
#include "pg/connection.hpp"

namespace plinth::apply {

// The transaction-scoped advisory lock every migrating instance takes first ("plinth" in ASCII).
constexpr std::int64_t kAdvisoryLockKey = 0x706c696e7468;

struct StatementRecord {
    std::string sql;
    double ms = 0;
};

struct JournalState {
    std::string desired_hash;
    std::string catalog_fingerprint;  // empty while work after a commit is unfinished
};

struct PluginRecord {
    std::string version;
    std::string schema_hash;
    std::string applied_at;
    std::int64_t migration_id = 0;
};

class Journal {
public:
    explicit Journal(pg::Connection& connection) : connection_(connection) {}

    bool exists();
    std::optional<JournalState> state();
    // Creates the schema and tables if missing; call only under the advisory lock.
    void create();
    std::map<std::string, PluginRecord> latest_per_plugin();
    std::int64_t record_migration(const std::string& desired_hash, std::size_t statements, double ms,
                                  const std::vector<std::string>& notes);
    void record_plugin(std::int64_t migration_id, const model::Plugin& plugin, const std::string& schema_hash,
                       const std::vector<StatementRecord>& statements);
    void save_state(const std::string& desired_hash, const std::string& fingerprint);

private:
    pg::Connection& connection_;
};

}  // namespace plinth::apply
