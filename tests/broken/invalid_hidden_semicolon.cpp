// A ';' hidden from a scanner that takes éE'...' for an escape string: PostgreSQL reads éE as an
// identifier, then '\' as a whole string, so the ';' is outside it.
#include "sdk_base.hpp"
static plinth::plugin describe() {
    return plinth::plugin("hidden-semicolon", "1.0.0").table(plinth::table("widgets", {
        uuid("id").primary_key(), text("label").default_sql("1 \xc3\xa9" "E'\\'; DROP TABLE agents; SELECT '"),  // @column
    }));
}
PLINTH_PLUGIN(describe)
