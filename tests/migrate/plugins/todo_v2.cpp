// tasks 2.0: "todo" is now "tasks" and its column "title" is "name"; the index and the foreign key
// name the new names.
#include "common.hpp"
static plinth::plugin describe() {
    return plinth::plugin("tasks", "2.0.0")
        .table(plinth::table("tasks", {uuid("id").primary_key().default_random(), text("name").renamed_from("title"),
                                       integer("prio")})
                   .renamed_from("todo")
                   .add(index({"name"})))
        .table(plinth::table("todo_notes", {uuid("id").primary_key().default_random(),
                                            uuid("todo_id").not_null().references("tasks"), text("body")}));
}
PLINTH_PLUGIN(describe)
