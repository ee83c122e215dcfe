#pragma once

#include <vector>

#include "model/lock_table.hpp"
#include "pg/connection.hpp"

namespace plinth::introspect {

// The server's lock-table settings and how many entries other sessions hold now (one query):
// sessions other than this connection's and than the server processes `also_ours`.
model::LockTable read_lock_table(pg::Connection& connection, const std::vector<int>& also_ours = {});

}  // namespace plinth::introspect
