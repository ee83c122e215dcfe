// tasks before the backfill: a legacy priority some rows leave NULL.
#include "common.hpp"
static plinth::plugin describe() {
    return plinth::plugin("tasks", "1.0.0").table(plinth::table("tasks", {
        bigint("id").primary_key(), integer("legacy_priority"), text("note"),
    }));
}
PLINTH_PLUGIN(describe)
