// Columns whose generated index name would pass 63 bytes.
#include "sdk_base.hpp"
static plinth::plugin describe() {
    return plinth::plugin("generated-name", "1.0.0").table(plinth::table("widgets_with_a_long_name", {
        uuid("id").primary_key(), text("first_long_column_name"), text("second_long_column_name"),
    }).add(index({"first_long_column_name", "second_long_column_name"})));  // @index
}
PLINTH_PLUGIN(describe)
