// Requires a plugin that is not there.
#include "sdk_base.hpp"
static plinth::plugin describe() {
    return plinth::plugin("missing-required", "1.0.0").requires_plugin("billing").table(widgets());
}
PLINTH_PLUGIN(describe)
