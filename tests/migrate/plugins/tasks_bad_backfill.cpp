// A backfill the server rejects: it names a column the table does not have.
#include "common.hpp"
static plinth::plugin describe() {
    return plinth::plugin("tasks", "2.0.0").table(plinth::table("tasks", {
        bigint("id").primary_key(), integer("legacy_priority"), text("note"),
        integer("priority").not_null().backfill("coalesce(no_such_column, 0)"),
    }));
}
PLINTH_PLUGIN(describe)
