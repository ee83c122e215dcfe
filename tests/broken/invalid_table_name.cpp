// A table name with characters an identifier may not have.
#include "sdk_base.hpp"
static plinth::plugin describe() {
    return plinth::plugin("bad-table-name", "1.0.0").table(plinth::table("Widgets-2", {uuid("id").primary_key()}));  // @table
}
PLINTH_PLUGIN(describe)
