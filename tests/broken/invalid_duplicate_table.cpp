// Declares a table the core plugin already owns in schema public.
#include "sdk_base.hpp"
static plinth::plugin describe() {
    plinth::table agents("agents", {uuid("id").primary_key()});  // @table
    return plinth::plugin("duplicate-table", "1.0.0").requires_plugin("core").table(agents);
}
PLINTH_PLUGIN(describe)
