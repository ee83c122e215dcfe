// References a column that is neither a primary key nor unique.
#include "sdk_base.hpp"
static plinth::plugin describe() {
    return plinth::plugin("fk-not-unique", "1.0.0").requires_plugin("core").table(plinth::table("widgets", {
        uuid("id").primary_key(), text("agent_name").references("agents", "name"),  // @fk
    }));
}
PLINTH_PLUGIN(describe)
