// Least privilege: plinth migrates as a role that owns the database, as one with CREATE on it, and
// as one whose only right is CREATE on schema public (with --journal-schema public); a missing
// privilege fails naming the statement and docs/deploying.md. Helpers are named privilege_*: this
// file shares a unity build with the other migrate tests.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include <unistd.h>

#include "pg/connection.hpp"
#include "pg_fixture.hpp"
#include "processes.hpp"

namespace {

// A role (with LOGIN) and a database on the shared test cluster, set up by the superuser with
// `grants` (each run in the new database; {role} and {db} are replaced). pgvector, which only a
// superuser may create, is created beforehand as a managed service's administrator would.
struct PrivilegeScenario {
    PrivilegeScenario(const std::string& label, bool owns_database, const std::vector<std::string>& grants) {
        auto& cluster = plinth::test::TestCluster::instance();
        role = "plinth_" + label + "_" + std::to_string(::getpid());
        database = role + "_db";
        auto admin = plinth::pg::Connection::open(cluster.admin_conninfo());
        admin.exec("CREATE ROLE " + role + " LOGIN");
        admin.exec("CREATE DATABASE " + database + (owns_database ? " OWNER " + role : std::string()));
        auto in_db = plinth::pg::Connection::open(cluster.conninfo_for(database));
        if (plinth::test::TestCluster::pgvector_installed()) in_db.exec("CREATE EXTENSION vector SCHEMA public");
        for (auto sql : grants) {
            for (auto at = sql.find("{role}"); at != std::string::npos; at = sql.find("{role}"))
                sql.replace(at, 6, role);
            for (auto at = sql.find("{db}"); at != std::string::npos; at = sql.find("{db}")) sql.replace(at, 4, database);
            in_db.exec(sql);
        }
        // The cluster's URI names user=plinth: the role connects instead.
        conninfo = cluster.conninfo_for(database);
        conninfo.replace(conninfo.find("user=plinth"), 11, "user=" + role);
    }

    // plinth COMMAND as this role, with standard error, and its exit code.
    plinth::test::CommandResult plinth(const std::string& command, const std::string& extra = "") const {
        const char* exe = std::getenv("PLINTH_EXE");
        const char* plugins = std::getenv("PLINTH_TEST_PLUGINS_DIR");
        REQUIRE_MESSAGE((exe && plugins), "PLINTH_EXE and PLINTH_TEST_PLUGINS_DIR are set by meson test");
        // history loads no plugins.
        const std::string plugin_option = command == "history" ? "" : std::string(" --plugins '") + plugins + "'";
        return plinth::test::run_command(std::string(exe) + " " + command + plugin_option + " --database-url '" +
                                         conninfo + "' " + extra + " 2>&1");
    }

    std::string scalar(const std::string& sql) const {
        auto c = plinth::pg::Connection::open(conninfo);
        auto r = c.exec(sql);
        return r.is_null(0, 0) ? "NULL" : r.text(0, 0);
    }

    std::string role, database, conninfo;
};

}  // namespace

TEST_CASE("a role that owns its database migrates with the defaults") {
    PrivilegeScenario s("owner", true, {});
    const auto first = s.plinth("migrate");
    CHECK_MESSAGE(first.exit_code == 0, first.out);
    CHECK(s.scalar("SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'plinth'") == s.role);
    const auto again = s.plinth("migrate");
    CHECK(again.exit_code == 0);
    CHECK(again.out.find("fingerprint matches") != std::string::npos);
}

TEST_CASE("a role with CREATE on the database, owning nothing, migrates with the defaults") {
    PrivilegeScenario s("creator", false, {"GRANT CREATE ON DATABASE {db} TO {role}", "GRANT CREATE ON SCHEMA public TO {role}"});
    const auto first = s.plinth("migrate");
    CHECK_MESSAGE(first.exit_code == 0, first.out);
    CHECK(s.plinth("plan").exit_code == 0);
}

TEST_CASE("a role whose only right is CREATE on public: refused with the statement and the guide, then migrates with --journal-schema public") {
    PrivilegeScenario s("public_only", false, {"REVOKE CREATE ON DATABASE {db} FROM PUBLIC", "GRANT CREATE ON SCHEMA public TO {role}"});
    const auto refused = s.plinth("migrate");
    CHECK(refused.exit_code == 1);
    CHECK_MESSAGE(refused.out.find("42501") != std::string::npos, refused.out);
    CHECK(refused.out.find("CREATE SCHEMA \"plinth\"") != std::string::npos);
    CHECK(refused.out.find("docs/deploying.md") != std::string::npos);
    CHECK(s.scalar("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                   "WHERE n.nspname = 'public' AND c.relkind = 'r'") == "0");

    const auto migrated = s.plinth("migrate", "--journal-schema public");
    CHECK_MESSAGE(migrated.exit_code == 0, migrated.out);
    CHECK(s.scalar("SELECT count(*) FROM public.migrations") == "1");
    // The journal's tables share public with the plugins' but are not read as theirs: in sync.
    const auto plan = s.plinth("plan", "--journal-schema public");
    CHECK_MESSAGE(plan.exit_code == 0, plan.out);
    const auto again = s.plinth("migrate", "--journal-schema public");
    CHECK(again.out.find("fingerprint matches") != std::string::npos);
    // history reads the journal there too.
    CHECK(s.plinth("history", "--journal-schema public").out.find("core") != std::string::npos);
}

TEST_CASE("a role that may not create event triggers keeps the fingerprint, which finds drift made by hand") {
    PrivilegeScenario s("no_epoch", true, {});
    const auto first = s.plinth("migrate");
    CHECK_MESSAGE(first.exit_code == 0, first.out);
    // PostgreSQL 15 lets only superusers create event triggers: plinth does not try.
    CHECK(s.scalar("SELECT count(*) FROM pg_event_trigger") == "0");
    CHECK(s.scalar("SELECT ddl_epoch IS NULL FROM plinth.state") == "t");
    const auto again = s.plinth("migrate");
    CHECK_MESSAGE(again.out.find("schema up to date (fingerprint matches); nothing introspected") != std::string::npos,
                  again.out);
    plinth::pg::Connection::open(s.conninfo).exec("DROP INDEX entities_agent_id_idx");
    const auto repaired = s.plinth("migrate");
    CHECK_MESSAGE(repaired.out.find("applied 1 statement") != std::string::npos, repaired.out);
    CHECK(s.scalar("SELECT count(*) FROM pg_class WHERE relname = 'entities_agent_id_idx'") == "1");
    CHECK(s.plinth("migrate").out.find("fingerprint matches") != std::string::npos);
}
