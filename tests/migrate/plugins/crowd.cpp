// A new plugin of 301 tables, the first with a foreign key into the core plugin's agents: the
// writers of agents must not wait while the other 300 are created.
#include <string>

#include "common.hpp"
static plinth::plugin describe() {
    plinth::plugin p("crowd", "1.0.0");
    p.requires_plugin("core");
    p.table(plinth::table("crowd_0", {uuid("id").primary_key().default_random(),
                                      uuid("agent_id").not_null().references("agents")}));
    for (int i = 1; i <= 300; ++i)
        p.table(plinth::table("crowd_" + std::to_string(i), {uuid("id").primary_key().default_random(),
                                                               text("code").not_null().unique(),
                                                               timestamptz("created_at").not_null().default_now()}));
    return p;
}
PLINTH_PLUGIN(describe)
