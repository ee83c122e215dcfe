// Requires cycle-a, which requires it back.
#include "sdk_base.hpp"
static plinth::plugin describe() {
    return plinth::plugin("cycle-b", "1.0.0").requires_plugin("cycle-a").table(plinth::table("gadgets", {
        uuid("id").primary_key(),
    }));
}
PLINTH_PLUGIN(describe)
