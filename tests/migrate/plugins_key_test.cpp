// The no-op start that loads no plugin in plinth's own process (apply::trusted_plugins_key): the
// journal records the plugins key of a clean migration, and a start whose load probe gives the same
// key while the DDL epoch holds ends there. Run through the plinth executable, as a start is.
// Helpers are named key_*: this file shares a unity build with the other migrate tests.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "pg/connection.hpp"
#include "pg_fixture.hpp"
#include "pipeline/load_probe.hpp"
#include "pipeline/plugin_set.hpp"
#include "processes.hpp"

namespace {

namespace kfs = std::filesystem;

kfs::path key_env(const char* name) {
    const char* v = std::getenv(name);
    REQUIRE_MESSAGE(v != nullptr, name << " is not set; run with meson test");
    return v;
}

constexpr const char* kUnloaded = "nothing loaded or introspected";

struct KeyDb {
    KeyDb() : conninfo(plinth::test::TestCluster::instance().fresh_database()) {}

    // plinth migrate over `folder` with `extra` options; its exit status and everything it wrote.
    // Never the random full check, which loads the plugins: the outcome must not be left to chance.
    plinth::test::CommandResult migrate(const kfs::path& folder, const std::string& extra = "") {
        return plinth::test::run_command(key_env("PLINTH_EXE").string() + " migrate --plugins " + folder.string() +
                                         " --database-url '" + conninfo + "' --full-check-every 0 " + extra + " 2>&1");
    }
    // plinth `command` (plan or status) over `folder`: what it prints (`to` "stdout") or logs
    // ("stderr"), and its exit status.
    plinth::test::CommandResult show(const std::string& command, const kfs::path& folder, const std::string& extra,
                                     const std::string& to) {
        return plinth::test::run_command(key_env("PLINTH_EXE").string() + " " + command + " --plugins " +
                                         folder.string() + " --database-url '" + conninfo + "' " + extra +
                                         (to == "stdout" ? " 2>/dev/null" : " 2>&1 >/dev/null"));
    }
    void exec(const std::string& sql) { plinth::pg::Connection::open(conninfo).exec(sql); }
    std::string scalar(const std::string& sql) { return plinth::pg::Connection::open(conninfo).exec(sql).text(0, 0); }

    std::string conninfo;
};

void key_copy(const kfs::path& from, const kfs::path& to) { kfs::copy_file(from, to); }

}  // namespace

TEST_CASE("a no-op start with the plugins of the last clean migration loads none of them") {
    KeyDb db;
    plinth::test::TempDir plugins;
    key_copy(key_env("PLINTH_TEST_PLUGINS_DIR") / "core.so", plugins.path() / "core.so");
    auto first = db.migrate(plugins.path());
    REQUIRE_MESSAGE(first.exit_code == 0, first.out);
    CHECK(first.out.find(kUnloaded) == std::string::npos);
    auto again = db.migrate(plugins.path());
    CHECK(again.exit_code == 0);
    CHECK_MESSAGE(again.out.find(kUnloaded) != std::string::npos, again.out);

    SUBCASE("a file rewritten: loaded once (the schema is the same, so no introspection), then not again") {
        const auto file = plugins.path() / "core.so";
        kfs::last_write_time(file, kfs::last_write_time(file) + std::chrono::seconds(5));
        auto loaded = db.migrate(plugins.path());
        CHECK(loaded.exit_code == 0);
        CHECK_MESSAGE(loaded.out.find("schema up to date (DDL epoch unchanged); nothing introspected") != std::string::npos,
                      loaded.out);
        CHECK_MESSAGE(db.migrate(plugins.path()).out.find(kUnloaded) != std::string::npos, "the new key is recorded");
    }
    SUBCASE("DDL by hand moves the epoch: the plugins are loaded and the drift repaired") {
        db.exec("DROP INDEX public.entities_agent_id_idx");
        auto repaired = db.migrate(plugins.path());
        CHECK(repaired.exit_code == 0);
        CHECK_MESSAGE(repaired.out.find(kUnloaded) == std::string::npos, repaired.out);
        CHECK(db.scalar("SELECT count(*) FROM pg_class WHERE relname = 'entities_agent_id_idx'") == "1");
        CHECK(db.migrate(plugins.path()).out.find(kUnloaded) != std::string::npos);
    }
    SUBCASE("another option that changes the plan, or no load probe, loads them") {
        CHECK(db.migrate(plugins.path(), "--allow-hazard table-rewrite").out.find(kUnloaded) == std::string::npos);
        CHECK(db.migrate(plugins.path(), "--no-load-probe").out.find(kUnloaded) == std::string::npos);
    }
    SUBCASE("a plugin added to the folder is loaded and migrated") {
        key_copy(key_env("PLINTH_TEST_MIGRATE_PLUGINS_DIR") / "notes.so", plugins.path() / "notes.so");
        auto added = db.migrate(plugins.path());
        CHECK(added.exit_code == 0);
        CHECK_MESSAGE(added.out.find("applied") != std::string::npos, added.out);
    }
}

TEST_CASE("plan and status after a clean migration with the same plugins print, without reading the catalog, what it gives") {
    KeyDb db;
    plinth::test::TempDir plugins;
    key_copy(key_env("PLINTH_TEST_PLUGINS_DIR") / "core.so", plugins.path() / "core.so");
    REQUIRE(db.migrate(plugins.path()).exit_code == 0);
    for (const std::string format : {"text", "json", "sql"}) {
        CAPTURE(format);
        const auto keyed = db.show("plan", plugins.path(), "--full-check-every 0 --format " + format, "stdout");
        const auto read = db.show("plan", plugins.path(), "--full-check-every 1 --format " + format, "stdout");
        CHECK(keyed.exit_code == 0);
        CHECK(read.exit_code == 0);
        CHECK(keyed.out == read.out);
        if (format == "text") continue;  // its logs share stdout with the plan: the path taken is not logged
        CHECK(db.show("plan", plugins.path(), "--full-check-every 0 --format " + format, "stderr")
                  .out.find(kUnloaded) != std::string::npos);
        CHECK(db.show("plan", plugins.path(), "--full-check-every 1 --format " + format, "stderr")
                  .out.find(kUnloaded) == std::string::npos);
    }

    for (const std::string format : {"text", "json"}) {
        CAPTURE(format);
        const auto keyed = db.show("status", plugins.path(), "--full-check-every 0 --format " + format, "stdout");
        const auto read = db.show("status", plugins.path(), "--full-check-every 1 --format " + format, "stdout");
        CHECK(keyed.exit_code == 0);
        CHECK(keyed.out == read.out);
        if (format == "text") continue;
        CHECK(db.show("status", plugins.path(), "--full-check-every 0 --format json", "stderr")
                  .out.find("nothing introspected") != std::string::npos);
        CHECK(db.show("status", plugins.path(), "--full-check-every 1 --format json", "stderr")
                  .out.find("nothing introspected") == std::string::npos);
    }

    SUBCASE("a migration that left a difference aside: migrate's no-op still loads nothing, plan reads the catalog") {
        db.exec("ALTER TABLE public.entities ADD COLUMN by_hand text");
        REQUIRE(db.migrate(plugins.path()).exit_code == 0);
        CHECK(db.migrate(plugins.path()).out.find(kUnloaded) != std::string::npos);
        const auto logged = db.show("plan", plugins.path(), "--full-check-every 0 --format json", "stderr");
        CHECK_MESSAGE(logged.out.find(kUnloaded) == std::string::npos, logged.out);
        const auto printed = db.show("plan", plugins.path(), "--full-check-every 0", "stdout");
        CHECK(printed.exit_code == 3);
        CHECK_MESSAGE(printed.out.find("by_hand") != std::string::npos, printed.out);
        const auto status = db.show("status", plugins.path(), "--full-check-every 0", "stdout");
        CHECK(status.exit_code == 3);
        CHECK_MESSAGE(status.out.find("by_hand") != std::string::npos, status.out);
    }
    SUBCASE("DDL by hand since: plan reads the catalog and shows the drift") {
        db.exec("DROP INDEX public.entities_agent_id_idx");
        const auto printed = db.show("plan", plugins.path(), "--full-check-every 0", "stdout");
        CHECK(printed.exit_code == 2);
        CHECK_MESSAGE(printed.out.find("entities_agent_id_idx") != std::string::npos, printed.out);
    }
    SUBCASE("another plugin in the folder: plan loads them and shows its tables") {
        key_copy(key_env("PLINTH_TEST_MIGRATE_PLUGINS_DIR") / "notes.so", plugins.path() / "notes.so");
        const auto printed = db.show("plan", plugins.path(), "--full-check-every 0", "stdout");
        CHECK_MESSAGE(printed.exit_code == 2, printed.out);
    }
}

TEST_CASE("a start whose last migration refused a plugin loads them all again and says so again") {
    KeyDb db;
    plinth::test::TempDir plugins;
    key_copy(key_env("PLINTH_TEST_PLUGINS_DIR") / "core.so", plugins.path() / "core.so");
    key_copy(key_env("PLINTH_TEST_MIGRATE_PLUGINS_DIR") / "bad_default.so", plugins.path() / "bad_default.so");
    REQUIRE(db.migrate(plugins.path()).exit_code == 0);
    auto again = db.migrate(plugins.path());
    CHECK(again.out.find(kUnloaded) == std::string::npos);
    CHECK_MESSAGE(again.out.find("bad-default") != std::string::npos, again.out);
}

TEST_CASE("the load probe's plugins key is the one plinth computes from the plugins it loads itself") {
    plinth::test::TempDir plugins;
    key_copy(key_env("PLINTH_TEST_PLUGINS_DIR") / "core.so", plugins.path() / "core.so");
    key_copy(key_env("PLINTH_TEST_PLUGINS_DIR") / "project-management.so", plugins.path() / "project-management.so");
    const std::vector<kfs::path> folders{plugins.path()};
    const auto files = plinth::pipeline::plugin_files(folders);
    const auto probed = plinth::pipeline::probe_files(files, {});
    const auto key = plinth::pipeline::plugins_key(files, probed.digests);
    REQUIRE(key);
    const auto set = plinth::pipeline::load_plugin_set(folders, probed);
    CHECK(set.plugins_key == key);
    // Another file order, or a file missing, is another key.
    CHECK(plinth::pipeline::plugins_key({files[1], files[0]}, {probed.digests[1], probed.digests[0]}) != key);
    CHECK_FALSE(plinth::pipeline::plugins_key(files, {probed.digests[0], std::nullopt}));
}
