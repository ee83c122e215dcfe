// Valid itself, but requires fk-type, which is not valid.
#include "sdk_base.hpp"
static plinth::plugin describe() {
    return plinth::plugin("dependent", "1.0.0").requires_plugin("fk-type").table(plinth::table("gadgets", {
        uuid("id").primary_key(),
    }));
}
PLINTH_PLUGIN(describe)
