// widgets 6.0: an expression index and a partial index beside a plain one, a column with a
// volatile default, and a default written in capitals.
#include "common.hpp"
static plinth::plugin describe() {
    return widgets_plugin("6.0.0").table(plinth::table("widgets", {
        uuid("id").primary_key().default_random(), text("label"),
        uuid("token").default_random(),
        timestamptz("seen_at").default_sql("NOW()"),
    })
        .add(index({"label"}))
        .add(index({"(lower(label))"}).named("widgets_lower_label_idx"))
        .add(index({"label"}).named("widgets_label_partial_idx").where("label IS NOT NULL")));
}
PLINTH_PLUGIN(describe)
