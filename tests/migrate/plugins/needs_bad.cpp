// A plugin that requires a plugin the server refuses: skipped with it.
#include "common.hpp"
static plinth::plugin describe() {
    return plinth::plugin("needs-bad", "1.0.0").requires_plugin("bad-default").table(plinth::table("needy", {
        uuid("id").primary_key(),
    }));
}
PLINTH_PLUGIN(describe)
