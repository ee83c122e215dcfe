#include "plan/lock_budget.hpp"

#include <algorithm>
#include <array>
#include <functional>
#include <map>
#include <numeric>
#include <set>
#include <string_view>

#include "model/types.hpp"

namespace plinth::plan {
namespace {

// Types stored inline at a fixed length: a table of only these gets no TOAST table. Anything else
// counts as TOAST-able, which can only overestimate.
bool fixed_length(const std::string& canonical) {
    static constexpr std::array<std::string_view, 14> kFixed{
        "smallint", "integer", "bigint", "boolean", "real", "double precision", "uuid", "date", "oid",
        "timestamp with time zone", "timestamp without time zone", "time without time zone", "interval",
        "\"char\""};
    for (auto name : kFixed)
        if (canonical == name) return true;
    return false;
}

// What creating a table locks until the commit: the table and its row type; its TOAST table and
// TOAST index; each key's index and constraint; each foreign key's constraint; each serial column's
// sequence (and its row type). Its other indexes are operations of their own.
std::int64_t entries_of_new_table(const model::Table& table) {
    std::int64_t count = 2 + (table.primary_key.empty() ? 0 : 2) + 2 * static_cast<std::int64_t>(table.uniques.size()) +
                         static_cast<std::int64_t>(table.foreign_keys.size());
    bool toast = false;
    for (const auto& column : table.columns) {
        const auto type = model::canonical_type(column.type);
        if (type.find("serial") != std::string::npos) count += 2;
        if (!fixed_length(type)) toast = true;
    }
    return count + (toast ? 2 : 0);
}

}  // namespace

constexpr std::int64_t kExtensionObjects = 256;

std::int64_t lock_entries_needed(const Plan& plan, const std::vector<model::Plugin>& plugins) {
    std::map<std::string, const model::Table*> tables;
    for (const auto& p : plugins)
        for (const auto& t : p.tables) tables.emplace(t.qualified_name(), &t);
    std::set<std::string> created;  // counted with everything they lock
    std::set<std::string> altered;  // existing tables: one entry each, however often locked
    std::set<std::string> schemas;
    std::int64_t needed = 0;
    for (const auto& op : plan.operations) {
        if (op.phase != Phase::transaction) continue;
        // pgvector's script creates and locks about 190 objects (functions, operators, classes).
        if (op.kind == OperationKind::create_extension) {
            needed += kExtensionObjects;
            continue;
        }
        // A schema; an index or a constraint on an existing table (below): what it creates.
        if (op.table.empty()) {
            ++needed;
            continue;
        }
        schemas.insert(op.table.substr(0, op.table.find('.')));
        const auto table = tables.find(op.table);
        if (op.kind == OperationKind::create_table && table != tables.end()) {
            needed += entries_of_new_table(*table->second);
            created.insert(op.table);
            continue;
        }
        // A new table's keys, statements of their own after it, were counted with it.
        if (created.count(op.table) && op.kind == OperationKind::add_key) continue;
        ++needed;
        altered.insert(op.table);
        for (const auto& lock : op.locks) altered.insert(lock.table);
    }
    for (const auto& name : altered)
        if (!created.count(name)) ++needed;
    // The bookkeeping: plinth's schema, its tables and their indexes, and the advisory lock.
    constexpr std::int64_t kJournal = 16;
    return needed + static_cast<std::int64_t>(schemas.size()) + kJournal;
}

std::int64_t judgement_lock_entries(const std::vector<model::Plugin>& plugins, std::size_t tables_per_chunk) {
    std::vector<std::int64_t> entries;
    for (const auto& p : plugins)
        for (const auto& t : p.tables)
            entries.push_back(entries_of_new_table(t) + static_cast<std::int64_t>(t.indexes.size()));
    const auto count = std::min(tables_per_chunk, entries.size());
    std::partial_sort(entries.begin(), entries.begin() + static_cast<std::ptrdiff_t>(count), entries.end(),
                      std::greater<>());
    // Its transaction's own entries beside the probes: its virtual transaction id, the catalogs it reads.
    constexpr std::int64_t kTransaction = 16;
    return std::accumulate(entries.begin(), entries.begin() + static_cast<std::ptrdiff_t>(count), kTransaction);
}

std::optional<std::string> lock_budget_refusal(std::int64_t needed, const model::LockTable& server) {
    const std::int64_t free_entries = server.capacity() - server.in_use;
    if (needed <= free_entries) return std::nullopt;
    const std::int64_t slots = server.max_connections + server.max_prepared_transactions;
    // Room for this plan beside what other sessions hold now, rounded up to a whole setting.
    const std::int64_t enough = slots > 0 ? (needed + server.in_use + slots - 1) / slots : needed;
    return "the migration needs about " + std::to_string(needed) +
           " entries of the server's lock table in its one transaction, and " + std::to_string(free_entries) +
           " are free (max_locks_per_transaction " + std::to_string(server.max_locks_per_transaction) +
           " × (max_connections " + std::to_string(server.max_connections) + " + max_prepared_transactions " +
           std::to_string(server.max_prepared_transactions) + ") = " + std::to_string(server.capacity()) +
           ", of which other sessions hold " + std::to_string(server.in_use) +
           "); nothing was changed.\n  Raise max_locks_per_transaction to at least " + std::to_string(enough) +
           " and restart the server, e.g. ALTER SYSTEM SET max_locks_per_transaction = " + std::to_string(enough) +
           "; (docs/plugin-guide.md, \"Large schemas\")";
}

}  // namespace plinth::plan
