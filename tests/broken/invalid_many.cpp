// Several problems at once: all of them are reported, not only the first.
#include "sdk_base.hpp"
static plinth::plugin describe() {
    return plinth::plugin("many", "1.0.0").schema("pg_mine").table(plinth::table("widgets", {
        uuid("id").primary_key(), text(""), plinth::column("size", ""),  // @columns
    }).check("", "size > 0"));  // @check
}
PLINTH_PLUGIN(describe)
