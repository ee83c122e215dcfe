// A table without a primary key.
#include "sdk_base.hpp"
static plinth::plugin describe() {
    return plinth::plugin("no-primary-key", "1.0.0").table(plinth::table("widgets", {uuid("id"), text("label")}));  // @table
}
PLINTH_PLUGIN(describe)
