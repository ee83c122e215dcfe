// A type name PostgreSQL would never accept.
#include "sdk_base.hpp"
static plinth::plugin describe() {
    return plinth::plugin("bad-type", "1.0.0").table(plinth::table("widgets", {
        uuid("id").primary_key(), plinth::column("label", "text not null"),  // @column
    }));
}
PLINTH_PLUGIN(describe)
