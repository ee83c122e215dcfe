// The same column declared twice.
#include "sdk_base.hpp"
static plinth::plugin describe() {
    return plinth::plugin("duplicate-column", "1.0.0").table(plinth::table("widgets", {
        uuid("id").primary_key(), text("label"), text("label"),  // @column
    }));
}
PLINTH_PLUGIN(describe)
