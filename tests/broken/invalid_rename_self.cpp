// A column renamed from its own name.
#include "sdk_base.hpp"
static plinth::plugin describe() {
    return plinth::plugin("rename-self", "1.0.0").table(plinth::table("widgets", {
        uuid("id").primary_key(), text("label").renamed_from("label"),  // @column
    }));
}
PLINTH_PLUGIN(describe)
