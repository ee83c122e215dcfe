// widgets with a NOT NULL column without a default: refused on a table with rows.
#include "common.hpp"
static plinth::plugin describe() {
    return widgets_plugin("4.0.0").table(plinth::table("widgets", {
        uuid("id").primary_key().default_random(), text("label"), integer("weight").not_null(),
    }));
}
PLINTH_PLUGIN(describe)
