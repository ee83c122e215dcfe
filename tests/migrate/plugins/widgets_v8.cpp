// widgets 8.0: a NOT NULL column whose constant default is the word 'random', a nullable one with
// clock_timestamp(), and one with a user-made VOLATILE function that no list of names knows.
#include "common.hpp"
static plinth::plugin describe() {
    return widgets_plugin("8.0.0").table(plinth::table("widgets", {
        uuid("id").primary_key().default_random(), text("label"),
        text("kind").not_null().default_sql("'random'"),
        timestamptz("seen").default_sql("clock_timestamp()"),
        integer("ticket").default_sql("next_ticket()"),
    }));
}
PLINTH_PLUGIN(describe)
