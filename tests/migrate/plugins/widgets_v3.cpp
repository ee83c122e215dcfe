// widgets 3.0: an index, a check and a foreign key on a table that may already have rows.
#include "common.hpp"
static plinth::plugin describe() {
    return widgets_plugin("3.0.0").table(plinth::table("widgets", {
        uuid("id").primary_key().default_random(), text("label"),
        uuid("agent_id").references("agents", "id", fk_action::cascade),
    }).add(index({"label"})).check("widgets_label_check", "label <> ''"));
}
PLINTH_PLUGIN(describe)
