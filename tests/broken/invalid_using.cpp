// A USING expression that is not one expression: a second statement after a ';'.
#include "sdk_base.hpp"
static plinth::plugin describe() {
    return plinth::plugin("bad-using", "1.0.0").table(plinth::table("chores", {
        uuid("id").primary_key(),
        bigint("weight").using_expr("weight::bigint; DROP TABLE chores"),  // @column
    }));
}
PLINTH_PLUGIN(describe)
