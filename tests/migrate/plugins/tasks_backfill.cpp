// tasks 2.0: a NOT NULL priority, existing rows backfilled from the legacy one; new rows get 0
// from the default, so writers that do not know the column keep working.
#include "common.hpp"
static plinth::plugin describe() {
    return plinth::plugin("tasks", "2.0.0").table(plinth::table("tasks", {
        bigint("id").primary_key(), integer("legacy_priority"), text("note"),
        integer("priority").not_null().default_value(0).backfill("coalesce(legacy_priority, 0) + 1"),
    }));
}
PLINTH_PLUGIN(describe)
