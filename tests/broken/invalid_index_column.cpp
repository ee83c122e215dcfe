// An index on a column the table does not have.
#include "sdk_base.hpp"
static plinth::plugin describe() {
    return plinth::plugin("index-column", "1.0.0").table(widgets().add(index({"colour"})));  // @index
}
PLINTH_PLUGIN(describe)
