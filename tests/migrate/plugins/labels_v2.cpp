// labels 2.0: the varchar grows to 40, which PostgreSQL does without a rewrite.
#include "common.hpp"
static plinth::plugin describe() {
    return plinth::plugin("labels", "2.0.0").table(plinth::table("labels", {
        uuid("id").primary_key(), varchar("code", 40),
    }));
}
PLINTH_PLUGIN(describe)
