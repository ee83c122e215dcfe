// Two tables renamed from each other: a cycle no migration could carry out.
#include "sdk_base.hpp"
static plinth::plugin describe() {
    return plinth::plugin("rename-cycle", "1.0.0")
        .table(plinth::table("alpha", {uuid("id").primary_key()}).renamed_from("beta"))   // @alpha
        .table(plinth::table("beta", {uuid("id").primary_key()}).renamed_from("alpha"));  // @beta
}
PLINTH_PLUGIN(describe)
