// Similarity search as a plugin does it: the test plugin `nearest` (tests/migrate/plugins) stores
// embeddings in core's table through the host API and asks for the nearest ones with the query
// vector as a text parameter; the HNSW index the core plugin declares must serve that search.
#include <doctest/doctest.h>

#include <cstdlib>

#include "apply/migrate.hpp"
#include "host/lifecycle.hpp"
#include "load/loader.hpp"
#include "pg_fixture.hpp"
#include "support.hpp"

using namespace std::chrono_literals;
using plinth::test::TestCluster;

namespace {

plinth::pipeline::PluginSet core_and_nearest() {
    std::vector<plinth::model::Plugin> plugins;
    for (const auto& file : {plinth::test::required_env("PLINTH_TEST_PLUGINS_DIR") + "/core.so",
                             plinth::test::required_env("PLINTH_TEST_MIGRATE_PLUGINS_DIR") + "/nearest.so"}) {
        plinth::model::Plugin p;
        plinth::load::Refusal refusal;
        REQUIRE_MESSAGE(plinth::load::load_file(file, p, refusal), refusal.message());
        plugins.push_back(std::move(p));
    }
    plinth::pipeline::PluginSet set;
    set.validation = plinth::validate::validate(std::move(plugins));
    REQUIRE(set.validation.problems.empty());
    set.ordering = plinth::order::order(set.validation.plugins);
    return set;
}

}  // namespace

TEST_CASE("a plugin finds the nearest embeddings through the host API, and the HNSW index serves the search") {
    if (!TestCluster::pgvector_installed()) {
        MESSAGE("SKIPPED: pgvector is not installed on this machine (tests/support/install_pgvector.sh found no archive "
                "at ../shared/vendor/pgvector-0.8.6.tar.gz); the similarity search test needs the real extension");
        return;
    }
    plinth::test::CapturedLogs logs;
    const auto conninfo = TestCluster::instance().fresh_database();
    auto conn = plinth::pg::Connection::open(conninfo);
    auto set = core_and_nearest();
    plinth::apply::migrate(conn, set, {}, *logs.logging().logger("plinth"));

    auto pool = std::make_shared<plinth::hosting::ConnectionPool>(conninfo, 2, 30s, logs.logging().logger("plinth"));
    std::vector<std::shared_ptr<plinth::hosting::PluginContext>> contexts;
    for (const auto& p : set.validation.plugins)
        contexts.push_back(std::make_shared<plinth::hosting::PluginContext>(
            p.name, logs.logging().logger(p.name), plinth::hosting::Config().for_plugin(p.name), pool));
    plinth::hosting::Lifecycle lifecycle(set.validation.plugins, set.ordering.plugins, std::move(contexts), {},
                                         logs.logging().logger("plinth"));
    REQUIRE(lifecycle.start() == plinth::hosting::StartOutcome::ready);
    CHECK(lifecycle.stop().empty());
    CHECK(logs.contains("stored 200 embeddings, found 5"));

    // What the plugin found is what an exact search (no index) finds: the query vector itself first.
    auto found = conn.exec("SELECT embedding_id::text, distance FROM nearest_findings ORDER BY rank");
    REQUIRE(found.rows() == 5);
    CHECK(std::stod(found.text(0, 1)) < 1e-6);
    conn.exec("SET enable_indexscan = off");
    auto exact = conn.exec_params(
        "SELECT id::text FROM embeddings ORDER BY dim_384 <=> (SELECT dim_384 FROM embeddings WHERE id = $1::uuid) LIMIT 5",
        {found.text(0, 0)});
    conn.exec("RESET enable_indexscan");
    REQUIRE(exact.rows() == 5);
    for (int i = 0; i < 5; ++i) CHECK(found.text(i, 0) == exact.text(i, 0));

    const auto plan = conn.exec("SELECT string_agg(text, E'\\n' ORDER BY line) FROM nearest_plans").text(0, 0);
    INFO(plan);
    CHECK(plan.find("Index Scan using embeddings_dim_384_idx on embeddings") != std::string::npos);
}
