// The other half: books -> alpha.authors. cycle-a requires this plugin, which orders the pair: no
// require back (a require cycle is refused).
#include "common.hpp"
static plinth::plugin describe() {
    return plinth::plugin("cycle-b", "1.0.0").schema("beta")
        .table(plinth::table("books", {
            uuid("id").primary_key(), uuid("author_id").not_null().references("alpha.authors", "id", fk_action::cascade),
        }));
}
PLINTH_PLUGIN(describe)
