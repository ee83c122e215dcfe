// default_sql("now("): a call left open, which would swallow the rest of the column's DDL.
#include "sdk_base.hpp"
static plinth::plugin describe() {
    return plinth::plugin("open-call", "1.0.0").table(plinth::table("widgets", {
        uuid("id").primary_key(), timestamptz("seen").default_sql("now("),  // @column
    }));
}
PLINTH_PLUGIN(describe)
