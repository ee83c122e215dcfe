// DEFAULT pg_sleep(30) IS NULL: valid once in parentheses of its own; volatile, so never computed
// for existing rows.
#include "common.hpp"
static plinth::plugin describe() {
    return plinth::plugin("sleepy", "1.0.0").table(plinth::table("naps", {
        uuid("id").primary_key(), boolean("rested").default_sql("pg_sleep(30) IS NULL"),
    }));
}
PLINTH_PLUGIN(describe)
