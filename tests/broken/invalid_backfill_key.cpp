// A backfill on a primary key column: a key column cannot be added empty and filled later.
#include "sdk_base.hpp"
static plinth::plugin describe() {
    return plinth::plugin("backfill-key", "1.0.0").table(plinth::table("chores", {
        bigint("id").primary_key().backfill("1"),  // @column
        text("label"),
    }));
}
PLINTH_PLUGIN(describe)
