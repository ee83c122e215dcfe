// The server's judgement of every SQL fragment a plugin declares (types, defaults, checks, index
// methods, keys and predicates), asked before anything is applied. A hand-written scanner cannot
// know everything PostgreSQL's grammar and catalog know; the server can.
#pragma once

#include <string>
#include <vector>

#include "model/schema.hpp"
#include "pg/connection.hpp"

namespace plinth::introspect {

// A fragment the server refused, or one that did more than the single thing it was declared as.
struct Rejection {
    std::size_t plugin = 0;  // index into the plugins judged
    std::string table;       // the table's name
    std::string item;        // `column "x"`, `check "y"`, `index "z"`
    std::string message;     // "default rejected by the server: ERROR 42601: syntax error at or near ..."
    std::string location;    // "notes.cpp:56", empty when not known
};

// Tries each plugin's declarations on temporary tables of the same columns, one statement per
// fragment, each sent alone with the extended protocol (so it is exactly one statement) inside a
// savepoint (or a transaction of its own) that is rolled back: nothing is left behind. Each
// fragment goes into the statement inside its own parentheses, and the catalog is read back after
// each one to make sure it added exactly the one default, check or index it declares. Vector
// columns are judged as the migration would make them: with the extension when the server offers
// it, else as real[]. All of it goes first in one pipeline (one round trip), every fragment taken
// as accepted; a chunk of tables where that was wrong is judged again a statement at a time.
std::vector<Rejection> judge_declared_sql(pg::Connection& connection, const std::vector<model::Plugin>& plugins);

// The judgement's probe tables are made a chunk of this many (of one plugin) at a time, and the
// chunk's savepoint rolled back (freeing their locks) before the next: it holds a few hundred
// lock-table entries at most, whatever the schema's size (plan::judgement_lock_entries).
inline constexpr std::size_t kJudgeTablesPerChunk = 32;

}  // namespace plinth::introspect
