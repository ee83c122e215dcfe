// Requires cycle-b, which requires it back.
#include "sdk_base.hpp"
static plinth::plugin describe() {
    return plinth::plugin("cycle-a", "1.0.0").requires_plugin("cycle-b").table(widgets());
}
PLINTH_PLUGIN(describe)
