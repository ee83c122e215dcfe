#pragma once

#include "model/lock_table.hpp"
#include "pg/connection.hpp"

namespace plinth::introspect {

// The server's lock-table settings and how many entries other sessions hold now (one query).
model::LockTable read_lock_table(pg::Connection& connection);

}  // namespace plinth::introspect
