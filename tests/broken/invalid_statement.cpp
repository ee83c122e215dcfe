// A default that smuggles in a second statement.
#include "sdk_base.hpp"
static plinth::plugin describe() {
    return plinth::plugin("statement", "1.0.0").table(plinth::table("widgets", {
        uuid("id").primary_key(), text("label").default_sql("'x'; DROP TABLE agents"),  // @column
    }));
}
PLINTH_PLUGIN(describe)
