// The fast path's two detectors against a real PostgreSQL: the DDL epoch (event triggers, installed
// when plinth migrates as a superuser, as the test cluster's `plinth` role is) and the fingerprint
// it falls back to. Helpers are named epoch_*: this file shares a unity build with the other
// migrate tests. (A role that cannot create event triggers: privileges_test.cpp.)
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include <spdlog/spdlog.h>

#include "apply/migrate.hpp"
#include "load/loader.hpp"
#include "pg/connection.hpp"
#include "pg_fixture.hpp"
#include "processes.hpp"

namespace {

namespace efs = std::filesystem;

plinth::pipeline::PluginSet epoch_core() {
    const char* dir = std::getenv("PLINTH_TEST_PLUGINS_DIR");
    REQUIRE_MESSAGE(dir != nullptr, "PLINTH_TEST_PLUGINS_DIR is set by meson test");
    plinth::model::Plugin p;
    plinth::load::Refusal refusal;
    REQUIRE_MESSAGE(plinth::load::load_file(efs::path(dir) / "core.so", p, refusal), refusal.message());
    plinth::pipeline::PluginSet set;
    set.validation = plinth::validate::validate({std::move(p)});
    REQUIRE(set.validation.problems.empty());
    set.ordering = plinth::order::order(set.validation.plugins);
    return set;
}

spdlog::logger& epoch_log() {
    static spdlog::logger log("epoch-test");
    return log;
}

struct EpochDb {
    EpochDb()
        : conninfo(plinth::test::TestCluster::instance().fresh_database()),
          connection(plinth::pg::Connection::open(conninfo)) {}

    // every: MigrateOptions::full_fingerprint_every (0: the epoch alone, unless the guard moved).
    plinth::apply::MigrateOutcome migrate(int every = 0) {
        auto set = epoch_core();
        plinth::apply::MigrateOptions options;
        options.full_fingerprint_every = every;
        return plinth::apply::migrate(connection, set, options, epoch_log());
    }
    std::string scalar(const std::string& sql) {
        auto r = connection.exec(sql);
        REQUIRE(r.rows() == 1);
        return r.is_null(0, 0) ? "NULL" : r.text(0, 0);
    }
    bool has(const std::string& catalog_query) { return scalar("SELECT count(*) FROM " + catalog_query) == "1"; }
    void all_triggers(const std::string& how) {
        for (const char* event : {"drop", "end", "start"})
            connection.exec("ALTER EVENT TRIGGER plinth_ddl_epoch_" + std::string(event) + " " + how);
    }

    std::string conninfo;
    plinth::pg::Connection connection;
};

constexpr const char* kColumn = "pg_attribute WHERE attrelid = 'public.entities'::regclass AND attname = 'agent_id'";
constexpr const char* kIndex = "pg_class WHERE relname = 'entities_agent_id_idx' AND relkind = 'i'";
constexpr const char* kCheck = "pg_constraint WHERE conname = 'memories_fragment_metadata_check'";

}  // namespace

TEST_CASE("as a superuser plinth installs the DDL epoch, and a no-op start trusts it instead of the fingerprint") {
    EpochDb db;
    CHECK_FALSE(db.migrate().up_to_date_fast);
    CHECK(db.scalar("SELECT string_agg(evtname || ' ' || evtevent || ' ' || evtenabled::text, ', ' ORDER BY evtname) "
                    "FROM pg_event_trigger") ==
          "plinth_ddl_epoch_drop sql_drop A, plinth_ddl_epoch_end ddl_command_end A, "
          "plinth_ddl_epoch_start ddl_command_start A");
    CHECK(db.scalar("SELECT evttags::text FROM pg_event_trigger WHERE evtname = 'plinth_ddl_epoch_start'") ==
          "{\"CREATE INDEX\",\"CREATE FUNCTION\"}");
    CHECK(db.scalar("SELECT ddl_epoch IS NOT NULL AND ddl_guard IS NOT NULL FROM plinth.state") == "t");
    const auto again = db.migrate();
    CHECK(again.up_to_date_fast);
    CHECK(again.fast_path_detector == "ddl epoch");
    // Installing is idempotent: the function is not replaced, the triggers not recreated.
    const auto before = db.scalar("SELECT string_agg(xmin::text, ' ' ORDER BY evtname) FROM pg_event_trigger");
    db.connection.exec("DROP TABLE plinth.state");  // forces the slow path, which installs again
    CHECK_FALSE(db.migrate().up_to_date_fast);
    CHECK(db.scalar("SELECT string_agg(xmin::text, ' ' ORDER BY evtname) FROM pg_event_trigger") == before);
    CHECK(db.migrate().fast_path_detector == "ddl epoch");
    // Temporary objects do not move the epoch (but CREATE INDEX does, at ddl_command_start, where
    // its table is not known yet); anything else does, even outside the owned schemas.
    const auto epoch = db.scalar("SELECT sum(bumps) FROM plinth.ddl_epoch");
    db.connection.exec("CREATE TEMP TABLE scratch (a int PRIMARY KEY); ALTER TABLE scratch ADD COLUMN b text; "
                       "DROP TABLE scratch");
    CHECK(db.scalar("SELECT sum(bumps) FROM plinth.ddl_epoch") == epoch);
    db.connection.exec("CREATE SCHEMA elsewhere; CREATE TABLE elsewhere.t (a int)");
    CHECK(db.scalar("SELECT sum(bumps) FROM plinth.ddl_epoch") != epoch);
    const auto moved = db.migrate();
    CHECK(moved.up_to_date_fast);
    CHECK(moved.fast_path_detector == "fingerprint");  // and re-armed by it:
    CHECK(db.migrate().fast_path_detector == "ddl epoch");
}

TEST_CASE("with the DDL epoch, a column, an index or a constraint dropped by hand is found and repaired") {
    EpochDb db;
    db.migrate();
    for (const char* what : {kColumn, kIndex, kCheck}) {
        CAPTURE(what);
        REQUIRE(db.migrate().fast_path_detector == "ddl epoch");
        if (what == kColumn) db.connection.exec("ALTER TABLE entities DROP COLUMN agent_id");
        if (what == kIndex) db.connection.exec("DROP INDEX entities_agent_id_idx");
        if (what == kCheck) db.connection.exec("ALTER TABLE memories DROP CONSTRAINT memories_fragment_metadata_check");
        CHECK_FALSE(db.has(what));
        const auto repaired = db.migrate();
        CHECK_FALSE(repaired.up_to_date_fast);
        CHECK(repaired.statements_applied > 0);
        CHECK(db.has(what));
    }
    // An index build by hand that fails (here a unique one over duplicates) leaves an invalid index
    // without reaching ddl_command_end; ddl_command_start counted it.
    db.connection.exec("INSERT INTO agents (id, name) VALUES (gen_random_uuid(), 'twin'), (gen_random_uuid(), 'twin')");
    REQUIRE(db.migrate().fast_path_detector == "ddl epoch");
    CHECK_THROWS_AS(db.connection.exec("CREATE UNIQUE INDEX CONCURRENTLY agents_twin_idx ON agents (name)"),
                    plinth::pg::Error);
    CHECK(db.has("pg_index WHERE indexrelid = 'agents_twin_idx'::regclass AND NOT indisvalid"));
    CHECK(db.migrate().fast_path_detector != "ddl epoch");
}

TEST_CASE("event triggers disabled: the fingerprint finds drift; re-enabled, DDL made meanwhile is still found") {
    EpochDb db;
    db.migrate();
    db.all_triggers("DISABLE");
    const auto off = db.migrate();
    CHECK(off.up_to_date_fast);
    CHECK(off.fast_path_detector == "fingerprint");
    db.connection.exec("DROP INDEX entities_agent_id_idx");
    CHECK_FALSE(db.migrate().up_to_date_fast);
    CHECK(db.has(kIndex));
    // Left disabled by plinth (an operator's choice), so the epoch stays unrecorded.
    CHECK(db.scalar("SELECT ddl_epoch IS NULL FROM plinth.state") == "t");
    CHECK(db.migrate().fast_path_detector == "fingerprint");

    // Armed again, then DDL while the triggers are off, then on again: the epoch did not move, but
    // the triggers' rows did (ALTER EVENT TRIGGER), so the fingerprint decides.
    db.all_triggers("ENABLE ALWAYS");
    CHECK(db.migrate().fast_path_detector == "fingerprint");
    CHECK(db.migrate().fast_path_detector == "ddl epoch");
    db.all_triggers("DISABLE");
    db.connection.exec("ALTER TABLE entities DROP COLUMN agent_id");
    db.all_triggers("ENABLE ALWAYS");
    CHECK_FALSE(db.migrate().up_to_date_fast);
    CHECK(db.has(kColumn));

    // Fired only by origin sessions (plain ENABLE): plinth does not trust it.
    db.all_triggers("ENABLE");
    CHECK(db.migrate().fast_path_detector == "fingerprint");
    // Dropped: the fingerprint, and the next migration that has work installs them again.
    db.connection.exec("DROP EVENT TRIGGER plinth_ddl_epoch_end");
    db.connection.exec("ALTER TABLE memories DROP CONSTRAINT memories_fragment_metadata_check");
    CHECK_FALSE(db.migrate().up_to_date_fast);
    CHECK(db.has(kCheck));
    CHECK(db.has("pg_event_trigger WHERE evtname = 'plinth_ddl_epoch_end' AND evtenabled = 'A'"));
}

TEST_CASE("the trigger function replaced by hand moves the epoch: DDL after it is still found") {
    EpochDb db;
    db.migrate();
    REQUIRE(db.migrate().fast_path_detector == "ddl epoch");
    // A body that counts nothing: ddl_command_end would run it for its own replacement, but the
    // start trigger runs the body being replaced, before the command.
    const auto epoch = db.scalar("SELECT sum(bumps) FROM plinth.ddl_epoch");
    db.connection.exec("CREATE OR REPLACE FUNCTION plinth.bump_ddl_epoch() RETURNS event_trigger LANGUAGE plpgsql "
                       "AS 'BEGIN END'");
    CHECK(db.scalar("SELECT sum(bumps) FROM plinth.ddl_epoch") != epoch);
    db.connection.exec("ALTER TABLE entities DROP COLUMN agent_id");
    const auto repaired = db.migrate();
    CHECK_FALSE(repaired.up_to_date_fast);
    CHECK(db.has(kColumn));
    // The migration that repaired it put plinth's body back (a different body is replaced).
    CHECK(db.scalar("SELECT prosrc LIKE '%plinth DDL epoch%' FROM pg_proc WHERE oid = 'plinth.bump_ddl_epoch()'::regprocedure") == "t");
}

TEST_CASE("a trigger of plinth's name that calls another function is never trusted, before or after DDL") {
    EpochDb db;
    db.migrate();
    REQUIRE(db.migrate().fast_path_detector == "ddl epoch");
    db.connection.exec("CREATE FUNCTION public.count_nothing() RETURNS event_trigger LANGUAGE plpgsql AS 'BEGIN END'; "
                       "DROP EVENT TRIGGER plinth_ddl_epoch_end; "
                       "CREATE EVENT TRIGGER plinth_ddl_epoch_end ON ddl_command_end EXECUTE FUNCTION public.count_nothing(); "
                       "ALTER EVENT TRIGGER plinth_ddl_epoch_end ENABLE ALWAYS");
    db.connection.exec("ALTER TABLE entities DROP COLUMN agent_id");
    CHECK_FALSE(db.migrate().up_to_date_fast);
    CHECK(db.has(kColumn));
    // Left in place (a trigger that exists is not made again), it keeps the epoch from being recorded.
    CHECK(db.scalar("SELECT ddl_epoch IS NULL FROM plinth.state") == "t");
    CHECK(db.migrate().fast_path_detector == "fingerprint");
    CHECK(db.migrate().fast_path_detector == "fingerprint");
}

TEST_CASE("a start trigger from an older plinth (CREATE INDEX only) is made again with CREATE FUNCTION, as it was left") {
    EpochDb db;
    db.migrate();
    db.connection.exec("DROP EVENT TRIGGER plinth_ddl_epoch_start; "
                       "CREATE EVENT TRIGGER plinth_ddl_epoch_start ON ddl_command_start WHEN TAG IN ('CREATE INDEX') "
                       "EXECUTE FUNCTION plinth.bump_ddl_epoch(); ALTER EVENT TRIGGER plinth_ddl_epoch_start DISABLE");
    db.connection.exec("ALTER TABLE entities DROP COLUMN agent_id");  // work for the next migration
    CHECK(db.migrate().statements_applied > 0);
    CHECK(db.scalar("SELECT evttags::text || ' ' || evtenabled::text FROM pg_event_trigger "
                    "WHERE evtname = 'plinth_ddl_epoch_start'") == "{\"CREATE INDEX\",\"CREATE FUNCTION\"} D");
    // Enabled by the operator again: trusted from the next start that fingerprints.
    db.connection.exec("ALTER EVENT TRIGGER plinth_ddl_epoch_start ENABLE ALWAYS");
    CHECK(db.migrate().fast_path_detector == "fingerprint");
    CHECK(db.migrate().fast_path_detector == "ddl epoch");
}

TEST_CASE("a catalog edited by hand is not DDL: the epoch misses it, the full fingerprint finds it") {
    EpochDb db;
    db.migrate();
    db.connection.exec("UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'entities_agent_id_idx'::regclass");
    // The documented limit: nothing fired, the epoch did not move.
    CHECK(db.migrate().fast_path_detector == "ddl epoch");
    // Every start checking the full fingerprint (as after a restart, or one start in N) finds it.
    const auto full = db.migrate(1);
    CHECK_FALSE(full.up_to_date_fast);
    CHECK(db.has("pg_index WHERE indexrelid = 'entities_agent_id_idx'::regclass AND indisvalid"));
    CHECK(db.migrate(1).fast_path_detector == "fingerprint");
}

TEST_CASE("after a server restart the first start checks the full fingerprint, then trusts the epoch again") {
    plinth::test::TempDir dir;
    efs::permissions(dir.path(), efs::perms::owner_all | efs::perms::group_read | efs::perms::group_exec |
                                     efs::perms::others_read | efs::perms::others_exec);
    const std::string exe = std::getenv("PLINTH_EXE");
    const std::string data = " --data-dir '" + (dir.path() / "db").string() + "'";
    struct Stop {
        std::string command;
        ~Stop() { plinth::test::run_command(command); }
    } stop{exe + " db stop" + data + " >/dev/null 2>&1"};
    REQUIRE(plinth::test::run_command(exe + " db start" + data + " 2>&1").exit_code == 0);
    auto url = plinth::test::run_command(exe + " db url" + data).out;
    url.erase(url.find_last_not_of('\n') + 1);
    const auto migrate = [&] {
        return plinth::test::run_command(exe + " migrate --plugins '" + std::getenv("PLINTH_TEST_PLUGINS_DIR") +
                                         "' --database-url '" + url + "' --full-check-every 0 2>&1");
    };
    REQUIRE(migrate().exit_code == 0);
    const auto warm = migrate();
    // The plugins are unchanged too: nothing is loaded (plugins_key_test.cpp).
    CHECK_MESSAGE(warm.out.find("schema up to date (plugins and DDL epoch unchanged)") != std::string::npos, warm.out);
    REQUIRE(plinth::test::run_command(exe + " db stop" + data + " 2>&1").exit_code == 0);
    REQUIRE(plinth::test::run_command(exe + " db start" + data + " 2>&1").exit_code == 0);
    const auto restarted = migrate();
    CHECK_MESSAGE(restarted.out.find("schema up to date (fingerprint matches; the server restarted since the DDL "
                                     "epoch was recorded)") != std::string::npos,
                  restarted.out);
    const auto next = migrate();
    CHECK_MESSAGE(next.out.find("schema up to date (plugins and DDL epoch unchanged)") != std::string::npos, next.out);
}

TEST_CASE("the DDL epoch never stands in the way of DDL: its table or the whole journal can be dropped") {
    EpochDb db;
    db.migrate();
    db.connection.exec("DROP TABLE plinth.ddl_epoch");  // its own sql_drop trigger fires on it
    db.connection.exec("CREATE TABLE public.elsewhere_t (a int)");
    // The fast path cannot read the epoch: the slow path makes its table again.
    CHECK_FALSE(db.migrate().up_to_date_fast);
    CHECK(db.migrate().fast_path_detector == "ddl epoch");
    db.connection.exec("DROP SCHEMA plinth CASCADE");
    CHECK(db.scalar("SELECT count(*) FROM pg_event_trigger") == "0");
    db.connection.exec("DROP TABLE public.elsewhere_t");
}

TEST_CASE("a standby of a migrated primary is refused by the fast path's own query, before it decides") {
    plinth::test::ReplicaPair pair;
    const auto db = pair.fresh_database();
    auto set = epoch_core();
    auto primary = plinth::pg::Connection::open(pair.primary_conninfo(db));
    REQUIRE(plinth::apply::migrate(primary, set, {}, epoch_log()).migration_id > 0);
    plinth::apply::MigrateOptions epoch_alone;
    epoch_alone.full_fingerprint_every = 0;  // not the random full check, which answers "fingerprint"
    REQUIRE(plinth::apply::migrate(primary, set, epoch_alone, epoch_log()).fast_path_detector == "ddl epoch");
    pair.wait_for_standby();
    // The journal and the epoch are there too: everything but the server's role says "up to date".
    auto standby = plinth::pg::Connection::open(pair.standby_conninfo(db));
    CHECK_THROWS_WITH_AS(plinth::apply::migrate(standby, set, {}, epoch_log()), doctest::Contains("is a standby"),
                         plinth::apply::MigrationError);
}
