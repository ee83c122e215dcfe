// Two columns renamed from the same old name, and an old name that is no identifier.
#include "sdk_base.hpp"
static plinth::plugin describe() {
    return plinth::plugin("rename-twice", "1.0.0").table(plinth::table("widgets", {
        uuid("id").primary_key(), text("title").renamed_from("label"), text("caption").renamed_from("label"),  // @twice
        text("body").renamed_from("old body"),  // @name
    }));
}
PLINTH_PLUGIN(describe)
