// Names one slip away from real ones: a required plugin, a referenced table, referenced and own
// columns. Each problem suggests the name meant.
#include "sdk_base.hpp"
static plinth::plugin describe() {
    plinth::table widgets("widgets", {
        uuid("id").primary_key(),
        text("label"),
        uuid("agent_id").references("agnets"),                 // @agent
        text("parent_label").references("widgets", "lable"),  // @parent
    });
    widgets.unique({"lable"});        // @unique
    widgets.add(index({"labels"}));  // @index
    return plinth::plugin("misspelled", "1.0.0").requires_plugin("croe").table(widgets);
}
PLINTH_PLUGIN(describe)
