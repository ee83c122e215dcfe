// A type modifier too large for any integer PostgreSQL (or plinth) reads.
#include "sdk_base.hpp"
static plinth::plugin describe() {
    return plinth::plugin("bad-modulus", "1.0.0").table(plinth::table("widgets", {
        uuid("id").primary_key(), plinth::column("label", "varchar(99999999999)"),  // @column
    }));
}
PLINTH_PLUGIN(describe)
