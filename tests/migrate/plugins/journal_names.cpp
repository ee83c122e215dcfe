// A plugin whose table in public is named like one of the journal's: refused when the journal
// shares public (--journal-schema public), accepted with the journal in its own schema.
#include "common.hpp"
static plinth::plugin describe() {
    return plinth::plugin("journal-names", "1.0.0").table(plinth::table("state", {
        uuid("id").primary_key().default_random(),
        text("status").not_null(),
    }));
}
PLINTH_PLUGIN(describe)
