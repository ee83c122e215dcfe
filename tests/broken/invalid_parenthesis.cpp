// A check that closes its own parenthesis to add a column: `CHECK (true), evil_col text, CHECK (true)`.
#include "sdk_base.hpp"
static plinth::plugin describe() {
    return plinth::plugin("parenthesis", "1.0.0").table(widgets().check("widgets_check", "true), evil_col text, CHECK (true"));  // @check
}
PLINTH_PLUGIN(describe)
