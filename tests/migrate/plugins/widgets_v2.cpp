// widgets 2.0: two columns added.
#include "common.hpp"
static plinth::plugin describe() {
    return widgets_plugin("2.0.0").table(plinth::table("widgets", {
        uuid("id").primary_key().default_random(), text("label"),
        text("colour").not_null().default_value("red"), integer("size"),
    }));
}
PLINTH_PLUGIN(describe)
