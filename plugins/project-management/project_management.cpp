// The worked example of the plugin guide: a plugin with its own tables that reference the core
// plugin's agents, and that uses them through the host API when it starts.
#include <plinth/plinth.hpp>

#include <string>

namespace {

using namespace plinth::columns;
using plinth::index;

// At start: makes sure a demo agent and its project exist, then reads the project back and logs a
// summary. Idempotent, so every run of plinth finds the same project.
class ProjectManagement {
public:
    void start(plinth::host h) {
        const std::string agent_name = h.config("agent").value_or("plinth-demo");
        const std::string project_name = h.config("project").value_or("Launch plinth");

        // username is unique in core's agents, so this finds or creates the agent in one statement.
        const auto agent = h.query(
            "INSERT INTO agents (name, username) VALUES ($1, $1) "
            "ON CONFLICT (username) DO UPDATE SET updated_at = now() RETURNING id",
            {agent_name});
        const std::string agent_id = *agent[0][0];

        plinth::transaction tx(h);
        // Serialises this block across plinth instances starting at once.
        tx.execute("SELECT pg_advisory_xact_lock(hashtext('project-management demo project'))");
        auto project = tx.query("SELECT id FROM projects WHERE agent_id = $1 AND name = $2", {agent_id, project_name});
        if (project.empty()) {
            project = tx.query(
                "INSERT INTO projects (agent_id, name, description) VALUES ($1, $2, $3) RETURNING id",
                {agent_id, project_name, "created by the project-management example plugin"});
            const std::string id = *project[0][0];
            tx.execute(
                "INSERT INTO project_tasks (project_id, title, completed, priority, due_date) VALUES "
                "($1, 'Declare the schema', true, 2, NULL), "
                "($1, 'Migrate the database', false, 1, now() + interval '1 day'), "
                "($1, 'Run the plugins', false, 0, NULL)",
                {id});
            h.info("created project '" + project_name + "' for agent '" + agent_name + "'");
        }
        const std::string project_id = *project[0][0];
        tx.commit();

        const auto tasks = h.query(
            "SELECT title, completed, due_date::date FROM project_tasks WHERE project_id = $1 "
            "ORDER BY priority DESC, title",
            {project_id});
        int done = 0;
        for (const auto& task : tasks) {
            const bool completed = task[1] == "t";
            done += completed ? 1 : 0;
            h.debug(std::string(completed ? "[x] " : "[ ] ") + *task[0] +
                    (task[2] ? " (due " + *task[2] + ")" : std::string(" (no due date)")));
        }
        h.info("project '" + project_name + "' has " + std::to_string(tasks.size()) + " tasks (" +
               std::to_string(done) + " done)");
    }
};

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
        }))
        .runs<ProjectManagement>();
}

}  // namespace

PLINTH_PLUGIN(describe)
