// labels 1.0: a varchar(10).
#include "common.hpp"
static plinth::plugin describe() {
    return plinth::plugin("labels", "1.0.0").table(plinth::table("labels", {
        uuid("id").primary_key(), varchar("code", 10),
    }));
}
PLINTH_PLUGIN(describe)
