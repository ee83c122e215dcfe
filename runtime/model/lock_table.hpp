#pragma once

#include <cstdint>

namespace plinth::model {

// The server's shared lock table: max_locks_per_transaction × (max_connections +
// max_prepared_transactions) entries, one per object locked by any transaction at a time.
struct LockTable {
    std::int64_t max_locks_per_transaction = 0;
    std::int64_t max_connections = 0;
    std::int64_t max_prepared_transactions = 0;
    std::int64_t in_use = 0;  // entries other sessions hold now

    std::int64_t capacity() const { return max_locks_per_transaction * (max_connections + max_prepared_transactions); }
};

}  // namespace plinth::model
