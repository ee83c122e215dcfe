// tasks 1.0: a table "todo" with a column "title", an index on it, and a table referencing it.
#include "common.hpp"
static plinth::plugin describe() {
    return plinth::plugin("tasks", "1.0.0")
        .table(plinth::table("todo", {uuid("id").primary_key().default_random(), text("title"), integer("prio")})
                   .add(index({"title"})))
        .table(plinth::table("todo_notes", {uuid("id").primary_key().default_random(),
                                            uuid("todo_id").not_null().references("todo"), text("body")}));
}
PLINTH_PLUGIN(describe)
