// A backfill on a column that stays nullable: nothing would ever need the rows filled before a
// constraint, so the declaration is a mistake (a default, or not_null(), was meant).
#include "sdk_base.hpp"
static plinth::plugin describe() {
    return plinth::plugin("backfill-nullable", "1.0.0").table(plinth::table("chores", {
        uuid("id").primary_key(), integer("legacy_priority"),
        integer("priority").backfill("coalesce(legacy_priority, 0)"),  // @column
    }));
}
PLINTH_PLUGIN(describe)
