// References core's agents without requiring the core plugin.
#include "sdk_base.hpp"
static plinth::plugin describe() {
    return plinth::plugin("fk-not-required", "1.0.0").table(plinth::table("widgets", {
        uuid("id").primary_key(), uuid("agent_id").references("agents"),  // @fk
    }));
}
PLINTH_PLUGIN(describe)
