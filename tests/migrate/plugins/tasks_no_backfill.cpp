// tasks 2.0 without a backfill or a default: refused on a table with rows.
#include "common.hpp"
static plinth::plugin describe() {
    return plinth::plugin("tasks", "2.0.0").table(plinth::table("tasks", {
        bigint("id").primary_key(), integer("legacy_priority"), text("note"), integer("priority").not_null(),
    }));
}
PLINTH_PLUGIN(describe)
