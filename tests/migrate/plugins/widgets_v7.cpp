// widgets 7.0: defaults the server stores in its own spelling.
#include "common.hpp"
static plinth::plugin describe() {
    return widgets_plugin("7.0.0").table(plinth::table("widgets", {
        uuid("id").primary_key().default_random(), text("label"),
        jsonb("meta").default_value("{\"a\":1}"),
        real("score").default_sql("0.0"),
        timestamp("seen_at").default_sql("CURRENT_TIMESTAMP"),
    }));
}
PLINTH_PLUGIN(describe)
