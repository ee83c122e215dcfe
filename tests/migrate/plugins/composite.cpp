// A composite primary key and a two-column foreign key onto it.
#include "common.hpp"
static plinth::plugin describe() {
    return plinth::plugin("composite", "1.0.0")
        .table(plinth::table("tenant_users", {uuid("tenant_id"), uuid("user_id"), text("role")})
                   .primary_key({"tenant_id", "user_id"}))
        .table(plinth::table("memberships", {
            uuid("id").primary_key(), uuid("tenant_id").not_null(), uuid("user_id").not_null(),
        }).add(plinth::foreign_key({"tenant_id", "user_id"}, "tenant_users", {"tenant_id", "user_id"})
                   .on_delete(fk_action::cascade)));
}
PLINTH_PLUGIN(describe)
