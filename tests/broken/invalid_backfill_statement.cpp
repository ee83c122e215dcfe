// A backfill that is not one expression: a second statement hidden after a ';'.
#include "sdk_base.hpp"
static plinth::plugin describe() {
    return plinth::plugin("backfill-statement", "1.0.0").table(plinth::table("chores", {
        uuid("id").primary_key(), integer("legacy_priority"),
        integer("priority").not_null().backfill("0; DELETE FROM chores"),  // @column
    }));
}
PLINTH_PLUGIN(describe)
