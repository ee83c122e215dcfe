// A length PostgreSQL refuses (varchar is at most 10485760), within what validation can read.
#include "common.hpp"
static plinth::plugin describe() {
    return plinth::plugin("bad-varchar", "1.0.0").table(plinth::table("lengths", {
        uuid("id").primary_key(), plinth::column("code", "varchar(99999999)"),
    }));
}
PLINTH_PLUGIN(describe)
