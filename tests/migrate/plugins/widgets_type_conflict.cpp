// widgets declaring label as an integer: a type change plinth refuses to make.
#include "common.hpp"
static plinth::plugin describe() {
    return widgets_plugin("5.0.0").table(plinth::table("widgets", {
        uuid("id").primary_key().default_random(), integer("label"),
    }));
}
PLINTH_PLUGIN(describe)
