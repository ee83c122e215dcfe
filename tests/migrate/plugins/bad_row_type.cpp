// A column typed by the row type of a table created later in the same migration.
#include "common.hpp"
static plinth::plugin describe() {
    return plinth::plugin("bad-row-type", "1.0.0")
        .table(plinth::table("aaa_items", {uuid("id").primary_key(), plinth::column("parent", "zzz_rows")}))
        .table(plinth::table("zzz_rows", {uuid("id").primary_key()}));
}
PLINTH_PLUGIN(describe)
