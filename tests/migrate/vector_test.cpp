// The core schema and similarity indexes against the real pgvector extension, which
// tests/support/install_pgvector.sh installs on the machine (./dev.sh test does). The real[]
// fallback keeps its own tests in migrate_test.cpp, on TestCluster::without_pgvector().
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "apply/migrate.hpp"
#include "load/loader.hpp"
#include "pg_fixture.hpp"
#include "plan/plan.hpp"

namespace fs = std::filesystem;
using plinth::test::TestCluster;
using Strings = std::vector<std::string>;

namespace {

// Each test starts with this: the real extension, or a clear word why the test did not run.
#define REQUIRE_PGVECTOR()                                                                                           \
    if (!TestCluster::pgvector_installed()) {                                                                        \
        MESSAGE("SKIPPED: pgvector is not installed on this machine: tests/support/install_pgvector.sh found no "    \
                "archive at ../shared/vendor/pgvector-0.8.6.tar.gz; with the archive (as on CI) this test runs"); \
        return;                                                                                                      \
    }

plinth::pipeline::PluginSet core_set() {
    const char* dir = std::getenv("PLINTH_TEST_PLUGINS_DIR");
    REQUIRE_MESSAGE(dir != nullptr, "PLINTH_TEST_PLUGINS_DIR is not set; run with meson test");
    plinth::model::Plugin core;
    plinth::load::Refusal refusal;
    REQUIRE_MESSAGE(plinth::load::load_file(fs::path(dir) / "core.so", core, refusal), refusal.message());
    plinth::pipeline::PluginSet set;
    set.validation = plinth::validate::validate({std::move(core)});
    REQUIRE(set.validation.problems.empty());
    set.ordering = plinth::order::order(set.validation.plugins);
    return set;
}

spdlog::logger& vector_log() {
    static spdlog::logger log("vector-test");
    return log;
}

struct VectorDb {
    explicit VectorDb(TestCluster& cluster = TestCluster::instance())
        : conninfo(cluster.fresh_database()), connection(plinth::pg::Connection::open(conninfo)) {}

    std::string scalar(const std::string& sql) {
        auto r = connection.exec(sql);
        REQUIRE(r.rows() == 1);
        return r.is_null(0, 0) ? "NULL" : r.text(0, 0);
    }
    std::string column_type(const std::string& column) {
        return scalar("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'public.embeddings'::regclass "
                      "AND attname = '" + column + "'");
    }
    // "hnsw vector_cosine_ops {m=8}" for an index of public.embeddings, "" when it does not exist.
    std::string index(const std::string& name) {
        auto r = connection.exec_params(
            "SELECT am.amname || ' ' || oc.opcname || ' ' || coalesce(c.reloptions::text, '{}') FROM pg_index ix "
            "JOIN pg_class c ON c.oid = ix.indexrelid JOIN pg_am am ON am.oid = c.relam "
            "JOIN pg_opclass oc ON oc.oid = ix.indclass[0] WHERE c.oid = to_regclass($1)",
            {"public." + name});
        return r.rows() ? r.text(0, 0) : "";
    }
    void add_embedding_rows() {
        connection.exec("INSERT INTO agents (id, name) VALUES ('00000000-0000-0000-0000-000000000001', 'a')");
        connection.exec("INSERT INTO memories (id, type, content, agent_id) VALUES ('00000000-0000-0000-0000-000000000002', "
                        "'note', '{}', '00000000-0000-0000-0000-000000000001')");
        connection.exec("INSERT INTO embeddings (memory_id, dim_384) SELECT '00000000-0000-0000-0000-000000000002', "
                        "array_fill(g::real / 10, ARRAY[384]) FROM generate_series(1, 20) g");
    }

    std::string conninfo;
    plinth::pg::Connection connection;
};

Strings operation_summaries(const plinth::plan::Plan& plan) {
    Strings out;
    for (const auto& op : plan.operations) out.push_back(op.summary);
    return out;
}

const Strings kSizes{"384", "512", "768", "1024", "1536", "3072"};

}  // namespace

TEST_CASE("with pgvector the core schema has vector columns and an HNSW cosine index per size") {
    REQUIRE_PGVECTOR();
    VectorDb db;
    auto set = core_set();
    const auto plan = plinth::apply::current_plan(db.connection, set);
    CHECK(operation_summaries(plan).at(0) == "create extension vector");
    CHECK(plan.notes.empty());
    plinth::apply::migrate(db.connection, set, {}, vector_log());
    CHECK(db.scalar("SELECT extversion FROM pg_extension WHERE extname = 'vector'") == "0.8.6");
    for (const auto& size : kSizes) {
        CHECK(db.column_type("dim_" + size) == "vector(" + size + ")");
        CHECK(db.index("embeddings_dim_" + size + "_idx") ==
              (size == "3072" ? "hnsw halfvec_cosine_ops {}" : "hnsw vector_cosine_ops {}"));
    }
    CHECK(db.scalar("SELECT pg_get_indexdef('public.embeddings_dim_3072_idx'::regclass)") ==
          "CREATE INDEX embeddings_dim_3072_idx ON public.embeddings USING hnsw (((dim_3072)::halfvec(3072)) "
          "halfvec_cosine_ops)");
    CHECK(db.scalar("SELECT count(*) FROM pg_constraint WHERE conrelid = 'public.embeddings'::regclass "
                    "AND conname LIKE '%dims_check'") == "0");
    // A vector of another length is refused by the type itself.
    CHECK_THROWS_AS(db.connection.exec("INSERT INTO embeddings (memory_id, dim_384) VALUES (gen_random_uuid(), '[1,2]')"),
                    plinth::pg::Error);

    const auto again = plinth::apply::current_plan(db.connection, set);
    CHECK(again.operations.empty());
    CHECK(again.not_done.empty());
    CHECK(plinth::apply::migrate(db.connection, set, {}, vector_log()).up_to_date_fast);
    CHECK(db.scalar("SELECT notes::text FROM plinth.migrations").find("pgvector") == std::string::npos);
}

TEST_CASE("drift on similarity indexes is repaired: operator class, options, an index dropped") {
    REQUIRE_PGVECTOR();
    VectorDb db;
    auto set = core_set();
    plinth::apply::migrate(db.connection, set, {}, vector_log());
    db.add_embedding_rows();
    db.connection.exec("DROP INDEX embeddings_dim_384_idx");
    db.connection.exec("CREATE INDEX embeddings_dim_384_idx ON embeddings USING hnsw (dim_384 vector_l2_ops)");
    db.connection.exec("DROP INDEX embeddings_dim_512_idx");
    db.connection.exec("CREATE INDEX embeddings_dim_512_idx ON embeddings USING hnsw (dim_512 vector_cosine_ops) WITH (m = 8)");
    db.connection.exec("DROP INDEX embeddings_dim_768_idx");

    const auto plan = plinth::apply::current_plan(db.connection, set);
    INFO(plan.text());
    CHECK(operation_summaries(plan) ==
          Strings{"drop index embeddings_dim_384_idx on public.embeddings (built otherwise: the database has hnsw (vector_l2_ops))",
                  "rebuild index embeddings_dim_384_idx on public.embeddings (concurrently)",
                  "drop index embeddings_dim_512_idx on public.embeddings (built otherwise: the database has hnsw "
                  "(vector_cosine_ops) WITH (m=8))",
                  "rebuild index embeddings_dim_512_idx on public.embeddings (concurrently)",
                  "create index embeddings_dim_768_idx on public.embeddings (concurrently)"});
    for (const auto& op : plan.operations) CHECK(op.phase == plinth::plan::Phase::after_commit);
    CHECK(plan.not_done.empty());

    const auto outcome = plinth::apply::migrate(db.connection, set, {}, vector_log());
    CHECK(outcome.after_commit_failures.empty());
    CHECK(db.index("embeddings_dim_384_idx") == "hnsw vector_cosine_ops {}");
    CHECK(db.index("embeddings_dim_512_idx") == "hnsw vector_cosine_ops {}");
    CHECK(db.index("embeddings_dim_768_idx") == "hnsw vector_cosine_ops {}");
    CHECK(plinth::apply::current_plan(db.connection, set).operations.empty());
    plinth::apply::migrate(db.connection, set, {}, vector_log());  // records the fingerprint
    CHECK(plinth::apply::migrate(db.connection, set, {}, vector_log()).up_to_date_fast);
}

TEST_CASE("a database made on the fallback keeps its real[] columns when pgvector arrives: the plan says how to convert") {
    REQUIRE_PGVECTOR();
    auto set = core_set();
    // The fallback's statements, as plinth runs them on a server without pgvector...
    VectorDb fallback(TestCluster::without_pgvector());
    const auto made = plinth::apply::current_plan(fallback.connection, set);
    REQUIRE(std::none_of(made.operations.begin(), made.operations.end(),
                         [](const auto& op) { return op.summary == "create extension vector"; }));
    // ...run on a server that offers pgvector: the same database, now where the extension is.
    VectorDb db;
    for (const auto& op : made.operations) db.connection.exec_params(op.sql, {});
    db.add_embedding_rows();
    CHECK(db.column_type("dim_384") == "real[]");

    const auto plan = plinth::apply::current_plan(db.connection, set);
    CHECK(operation_summaries(plan) == Strings{"create extension vector"});
    REQUIRE(plan.not_done.size() == 12);
    CHECK_FALSE(plan.blocked());
    CHECK(plan.not_done[0].object == "column \"dim_384\"");
    CHECK(plan.not_done[0].manual_sql ==
          "ALTER TABLE \"public\".\"embeddings\" DROP CONSTRAINT IF EXISTS \"embeddings_dim_384_dims_check\", "
          "ALTER COLUMN \"dim_384\" TYPE vector(384) USING \"dim_384\"::vector(384)");
    CHECK(plan.text().find("will not do:\n- [core] public.embeddings column \"dim_384\": the database has real[]") !=
          std::string::npos);
    const auto waits = std::find_if(plan.not_done.begin(), plan.not_done.end(),
                                    [](const auto& n) { return n.object == "index \"embeddings_dim_384_idx\""; });
    REQUIRE(waits != plan.not_done.end());
    CHECK(waits->reason.find("waits for column \"dim_384\"") == 0);

    const auto outcome = plinth::apply::migrate(db.connection, set, {}, vector_log());
    CHECK(outcome.warnings.size() == 12);
    CHECK(db.column_type("dim_384") == "real[]");  // never converted silently
    CHECK(db.index("embeddings_dim_384_idx") == "");

    // Once a person runs the conversion, plinth builds the index the column was waiting for.
    db.connection.exec_params(plan.not_done[0].manual_sql, {});
    CHECK(db.column_type("dim_384") == "vector(384)");
    CHECK(db.scalar("SELECT count(*) FROM embeddings WHERE dim_384 IS NOT NULL") == "20");
    const auto after = plinth::apply::current_plan(db.connection, set);
    CHECK(operation_summaries(after) == Strings{"create index embeddings_dim_384_idx on public.embeddings (concurrently)"});
    CHECK(after.not_done.size() == 10);
    plinth::apply::migrate(db.connection, set, {}, vector_log());
    CHECK(db.index("embeddings_dim_384_idx") == "hnsw vector_cosine_ops {}");
}

TEST_CASE("a role that may not create pgvector is told, before anything runs, what a superuser must run") {
    REQUIRE_PGVECTOR();
    VectorDb admin;
    const std::string database = admin.scalar("SELECT current_database()");
    const std::string role = "vector_app_" + std::to_string(::getpid());
    admin.connection.exec("CREATE ROLE " + role + " LOGIN");
    admin.connection.exec("ALTER DATABASE " + database + " OWNER TO " + role);  // may create tables, not pgvector
    const auto conninfo = std::regex_replace(admin.conninfo, std::regex("user=plinth"), "user=" + role);
    auto app = plinth::pg::Connection::open(conninfo);
    auto set = core_set();

    const auto plan = plinth::apply::current_plan(app, set);
    CHECK(plan.blocked());
    REQUIRE(plan.not_done.size() == 1);
    CHECK(plan.not_done[0].reason == "needs the pgvector extension, which the server offers, but role \"" + role +
                                         "\" may not create it (only a superuser may: vector is not a trusted "
                                         "extension); a superuser must run this in database \"" + database +
                                         "\", then plinth can migrate");
    CHECK(plan.not_done[0].manual_sql == "CREATE EXTENSION vector");
    try {
        plinth::apply::migrate(app, set, {}, vector_log());
        FAIL("the migration should have been refused");
    } catch (const plinth::apply::MigrationError& e) {
        CHECK(std::string(e.what()).find("by hand: CREATE EXTENSION vector") != std::string::npos);
    }
    CHECK(admin.scalar("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == "0");  // nothing ran

    admin.connection.exec("CREATE EXTENSION vector");  // what the plan asked a superuser to run
    plinth::apply::migrate(app, set, {}, vector_log());
    CHECK(admin.column_type("dim_384") == "vector(384)");
    CHECK(admin.index("embeddings_dim_384_idx") == "hnsw vector_cosine_ops {}");
}
