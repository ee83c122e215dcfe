// ON DELETE SET NULL on a NOT NULL column.
#include "sdk_base.hpp"
static plinth::plugin describe() {
    return plinth::plugin("set-null", "1.0.0").requires_plugin("core").table(plinth::table("widgets", {
        uuid("id").primary_key(), uuid("agent_id").not_null().references("agents", "id", fk_action::set_null),  // @fk
    }));
}
PLINTH_PLUGIN(describe)
