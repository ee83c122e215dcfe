// Several problems at once: all of them are reported, not only the first.
#include "sdk_base.hpp"
static plinth::plugin describe() {
    plinth::table widgets("widgets", {uuid("id").primary_key(), text(""), plinth::column("size", "")});  // @columns
    widgets.check("", "size > 0");  // @check
    return plinth::plugin("many", "1.0.0").schema("pg_mine").table(widgets);
}
PLINTH_PLUGIN(describe)
