// A column name of 64 bytes: PostgreSQL would truncate it.
#include "sdk_base.hpp"
static plinth::plugin describe() {
    return plinth::plugin("long-identifier", "1.0.0").table(plinth::table("widgets", {
        uuid("id").primary_key(),
        text("a_column_name_that_is_much_too_long_for_postgresql_identifiers_x"),  // @column
    }));
}
PLINTH_PLUGIN(describe)
