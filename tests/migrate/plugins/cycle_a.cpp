// Half of a cycle across two plugins and two schemas: authors -> beta.books.
#include "common.hpp"
static plinth::plugin describe() {
    return plinth::plugin("cycle-a", "1.0.0").schema("alpha").requires_plugin("cycle-b")
        .table(plinth::table("authors", {
            uuid("id").primary_key(), uuid("favourite_book_id").references("beta.books"),
        }));
}
PLINTH_PLUGIN(describe)
