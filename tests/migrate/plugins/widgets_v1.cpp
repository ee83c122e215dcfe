// widgets 1.0: one table.
#include "common.hpp"
static plinth::plugin describe() {
    return widgets_plugin("1.0.0").table(plinth::table("widgets", {
        uuid("id").primary_key().default_random(), text("label"),
    }));
}
PLINTH_PLUGIN(describe)
