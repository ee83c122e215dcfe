// An index key that closes the key list to add INCLUDE (id).
#include "sdk_base.hpp"
static plinth::plugin describe() {
    return plinth::plugin("include-key", "1.0.0").table(widgets().add(index({"(label)) INCLUDE (id"}).named("widgets_sneaky_idx")));  // @index
}
PLINTH_PLUGIN(describe)
