// A foreign key to a table no plugin declares.
#include "sdk_base.hpp"
static plinth::plugin describe() {
    return plinth::plugin("fk-missing-table", "1.0.0").table(plinth::table("widgets", {
        uuid("id").primary_key(), uuid("owner_id").references("owners"),  // @fk
    }));
}
PLINTH_PLUGIN(describe)
