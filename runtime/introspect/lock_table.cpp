#include "introspect/lock_table.hpp"

#include <string>

#include "introspect/catalog.hpp"

namespace plinth::introspect {

model::LockTable read_lock_table(pg::Connection& connection, const std::vector<int>& also_ours) {
    // An entry is one locked object, shared by every session that locks it; fast-path locks live in
    // each backend, outside the table.
    std::vector<std::string> pids;
    for (const int pid : also_ours) pids.push_back(std::to_string(pid));
    auto r = connection.exec_params(
        "SELECT current_setting('max_locks_per_transaction'), current_setting('max_connections'), "
        "current_setting('max_prepared_transactions'), "
        "(SELECT count(DISTINCT (locktype, database, relation, page, tuple, virtualxid, transactionid::text, classid, "
        "objid, objsubid)) FROM pg_locks WHERE NOT fastpath AND pid <> pg_backend_pid() AND pid <> ALL ($1::int[]))",
        {text_array(pids)});
    return {std::stoll(r.text(0, 0)), std::stoll(r.text(0, 1)), std::stoll(r.text(0, 2)), std::stoll(r.text(0, 3))};
}

}  // namespace plinth::introspect
