// A text column referencing core's uuid key.
#include "sdk_base.hpp"
static plinth::plugin describe() {
    return plinth::plugin("fk-type", "1.0.0").requires_plugin("core").table(plinth::table("widgets", {
        uuid("id").primary_key(), text("agent_id").references("agents"),  // @fk
    }));  // @table
}
PLINTH_PLUGIN(describe)
