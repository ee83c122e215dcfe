// A check the server rejects (unknown column): the whole migration must roll back.
#include "common.hpp"
static plinth::plugin describe() {
    return plinth::plugin("bad-check", "1.0.0")
        .table(plinth::table("aaa_first", {uuid("id").primary_key()}))
        .table(plinth::table("zzz_broken", {uuid("id").primary_key()}).check("zzz_broken_check", "no_such_column > 0"));
}
PLINTH_PLUGIN(describe)
