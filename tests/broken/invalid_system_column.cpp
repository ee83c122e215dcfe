// A column named like a system column: PostgreSQL refuses the table.
#include "sdk_base.hpp"
static plinth::plugin describe() {
    return plinth::plugin("system-column", "1.0.0").table(plinth::table("widgets", {
        uuid("id").primary_key(), text("xmin"),  // @column
    }));
}
PLINTH_PLUGIN(describe)
