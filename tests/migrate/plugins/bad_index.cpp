// An index whose predicate names a column that does not exist, and one with an unknown method.
#include "common.hpp"
static plinth::plugin describe() {
    return plinth::plugin("bad-index", "1.0.0").table(plinth::table("things", {uuid("id").primary_key(), text("label")})
        .add(index({"label"}).named("things_label_idx").where("prio > 0"))
        .add(index({"label"}).named("things_label_hash_idx").using_method("hashh")));
}
PLINTH_PLUGIN(describe)
