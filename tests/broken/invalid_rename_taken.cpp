// Old names still in use: a column renamed from a column the table still declares, and a table
// renamed from a table the plugin still declares. Both are reported together.
#include "sdk_base.hpp"
static plinth::plugin describe() {
    return plinth::plugin("rename-taken", "1.0.0")
        .table(plinth::table("widgets", {
            uuid("id").primary_key(), text("label"), text("title").renamed_from("label"),  // @column
        }))
        .table(plinth::table("gadgets", {uuid("id").primary_key()}).renamed_from("widgets"));  // @table
}
PLINTH_PLUGIN(describe)
