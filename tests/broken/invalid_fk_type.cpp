// A text column referencing core's uuid key.
#include "sdk_base.hpp"
static plinth::plugin describe() {
    plinth::table widgets("widgets", {uuid("id").primary_key(), text("agent_id").references("agents")});  // @table @fk
    return plinth::plugin("fk-type", "1.0.0").requires_plugin("core").table(widgets);
}
PLINTH_PLUGIN(describe)
