// A default that would add a column of its own if spliced raw: DEFAULT 'x', evil_col text.
#include "common.hpp"
static plinth::plugin describe() {
    return plinth::plugin("bad-default", "1.0.0").table(plinth::table("gadgets", {
        uuid("id").primary_key(), text("label").default_sql("'x', evil_col text"),
    }));
}
PLINTH_PLUGIN(describe)
