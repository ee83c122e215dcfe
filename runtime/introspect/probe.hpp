// The planner's questions to the database (model::DatabaseProbe), answered over a connection.
#pragma once

#include "model/database_probe.hpp"
#include "pg/connection.hpp"

namespace plinth::introspect {

// A probe backed by `connection`, which must outlive it. server_defaults and server_definitions
// create temporary tables inside a savepoint (or a transaction of their own) and roll them back:
// they change nothing.
model::DatabaseProbe database_probe(pg::Connection& connection);

}  // namespace plinth::introspect
