// The worked example of the plugin guide: a plugin with its own tables that reference the core
// plugin's agents.
#include <plinth/plinth.hpp>

namespace {

using namespace plinth::columns;
using plinth::index;

plinth::plugin describe() {
    return plinth::plugin("project-management", "1.0.0")
        .requires_plugin("core")
        .table(plinth::table("projects", {
            uuid("id").primary_key().default_random(),
            uuid("agent_id").not_null().references("agents", "id", plinth::fk_action::cascade),
            text("name").not_null(),
            text("description"),
            text("status").default_value("active"),
            jsonb("metadata").default_empty_object(),
            timestamp("created_at").default_now(),
            timestamp("updated_at").default_now(),
        })
            .add(index({"agent_id"}).named("project_agent_id_idx"))
            .add(index({"status"}).named("project_status_idx")))
        .table(plinth::table("project_tasks", {
            uuid("id").primary_key().default_random(),
            uuid("project_id").not_null().references("projects", "id", plinth::fk_action::cascade),
            text("title").not_null(),
            boolean("completed").default_value(false),
            integer("priority").default_value(0),
            timestamp("due_date"),
            timestamp("created_at").default_now(),
        }));
}

}  // namespace

PLINTH_PLUGIN(describe)
