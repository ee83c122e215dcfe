// Valid itself, but requires cycle-a, which is on a require cycle.
#include "sdk_base.hpp"
static plinth::plugin describe() {
    return plinth::plugin("cycle-dependent", "1.0.0").requires_plugin("cycle-a").table(plinth::table("gizmos", {
        uuid("id").primary_key(),
    }));
}
PLINTH_PLUGIN(describe)
