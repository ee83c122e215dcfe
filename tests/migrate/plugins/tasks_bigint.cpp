// tasks 3.0: the legacy priority widened to bigint, which rewrites the table, with USING.
#include "common.hpp"
static plinth::plugin describe() {
    return plinth::plugin("tasks", "3.0.0").table(plinth::table("tasks", {
        bigint("id").primary_key(), bigint("legacy_priority").using_expr("legacy_priority::bigint * 10"), text("note"),
    }));
}
PLINTH_PLUGIN(describe)
