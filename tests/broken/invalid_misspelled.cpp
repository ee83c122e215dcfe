// Names one slip away from real ones: a required plugin, a referenced table, referenced and own
// columns. Each problem suggests the name meant.
#include "sdk_base.hpp"
static plinth::plugin describe() {
    return plinth::plugin("misspelled", "1.0.0").requires_plugin("croe").table(plinth::table("widgets", {
        uuid("id").primary_key(),
        text("label"),
        uuid("agent_id").references("agnets"),                 // @agent
        text("parent_label").references("widgets", "lable"),  // @parent
    })
        .unique({"lable"})          // @unique
        .add(index({"labels"})));  // @index
}
PLINTH_PLUGIN(describe)
