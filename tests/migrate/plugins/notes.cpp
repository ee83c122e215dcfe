// A new plugin that references the core plugin's existing tables.
#include "common.hpp"
static plinth::plugin describe() {
    return plinth::plugin("notes", "1.0.0").requires_plugin("core").table(plinth::table("notes", {
        uuid("id").primary_key().default_random(),
        uuid("agent_id").not_null().references("agents", "id", fk_action::cascade),
        uuid("room_id").references("rooms", "id", fk_action::set_null),
        text("body").not_null(),
    }).add(index({"agent_id"})));
}
PLINTH_PLUGIN(describe)
