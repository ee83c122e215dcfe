// pgvector's types and similarity indexes, before any database: the SDK's descriptor (ABI 1.3),
// loading, type spellings and the offline checks of validation. The planner's side is in
// test_planner.cpp, the real extension in tests/migrate/vector_test.cpp.
#include <doctest/doctest.h>

#include <algorithm>

#include <plinth/plinth.hpp>

#include "load/loader.hpp"
#include "model/types.hpp"
#include "paths.hpp"
#include "validate/validator.hpp"

using namespace plinth::columns;
using plinth::test::broken_dir;
using Strings = std::vector<std::string>;

namespace {

plinth::model::Plugin load(const std::string& file, const std::filesystem::path& dir = broken_dir()) {
    plinth::model::Plugin plugin;
    plinth::load::Refusal refusal;
    REQUIRE_MESSAGE(plinth::load::load_file(dir / file, plugin, refusal), refusal.message());
    return plugin;
}

// One plugin "docs" whose table "passages" has the columns (name, type) and the index given.
plinth::model::Plugin passages(const std::vector<std::pair<std::string, std::string>>& columns,
                               plinth::model::Index index) {
    plinth::model::Table t;
    t.schema = "public";
    t.name = "passages";
    t.columns.push_back({"id", "uuid", std::nullopt, true});
    for (const auto& [name, type] : columns) t.columns.push_back({name, type, std::nullopt});
    t.primary_key = {"id"};
    t.indexes.push_back(std::move(index));
    plinth::model::Plugin p;
    p.file = "docs.so";
    p.name = "docs";
    p.version = "1";
    p.tables.push_back(std::move(t));
    return p;
}

Strings problems(plinth::model::Plugin plugin) {
    Strings out;
    for (const auto& problem : plinth::validate::validate({std::move(plugin)}).problems) out.push_back(problem.message);
    return out;
}

plinth::model::Index similarity(Strings keys, std::string method, Strings opclasses,
                                std::vector<std::pair<std::string, std::string>> options = {}) {
    plinth::model::Index idx;
    idx.name = "passages_idx";
    idx.method = std::move(method);
    idx.keys = std::move(keys);
    idx.opclasses = std::move(opclasses);
    idx.options = std::move(options);
    return idx;
}

}  // namespace

TEST_CASE("pgvector's types keep their spelling and dimensions") {
    using plinth::model::canonical_type;
    CHECK(canonical_type("VECTOR( 384 )") == "vector(384)");
    CHECK(canonical_type("halfvec(3072)") == "halfvec(3072)");
    CHECK(canonical_type("sparsevec(30000)") == "sparsevec(30000)");
    CHECK(canonical_type("bit(64)") == "bit(64)");
    const auto half = plinth::model::vector_type("halfvec(3072)");
    REQUIRE(half);
    CHECK(half->base == "halfvec");
    CHECK(half->dimensions == 3072);
    CHECK(plinth::model::vector_type("bit(64)")->base == "bit");
    CHECK_FALSE(plinth::model::vector_type("numeric(10,2)"));
    CHECK_FALSE(plinth::model::vector_type("vector"));
    CHECK(plinth::model::vector_dimensions("vector(384)") == 384);
    CHECK_FALSE(plinth::model::vector_dimensions("halfvec(384)"));
    CHECK(plinth::model::needs_pgvector("sparsevec(10)"));
    CHECK(plinth::model::needs_pgvector("vector(3)[]"));
    CHECK_FALSE(plinth::model::needs_pgvector("bit(64)"));
    CHECK_FALSE(plinth::model::needs_pgvector("real[]"));
}

TEST_CASE("the SDK writes operator classes and storage parameters into the ABI 1.3 index struct") {
    const plinth::built_plugin built(plinth::plugin("docs", "1").table(
        plinth::table("passages", {uuid("id").primary_key(), vector("e", 384), halfvec("h", 8), sparsevec("s", 100),
                                   bit("b", 64)})
            .add(plinth::index({"e"}).hnsw("vector_cosine_ops").with("m", 16).with("ef_construction", 64))
            .add(plinth::index({"h"}).ivfflat("halfvec_l2_ops", 100))
            .add(plinth::index({"e", "b"}).named("plain_idx"))));
    const auto* d = built.descriptor();
    CHECK(d->abi_minor >= 3);
    const auto& t = d->tables[0];
    CHECK(std::string(t.columns[2].type) == "halfvec(8)");
    CHECK(std::string(t.columns[3].type) == "sparsevec(100)");
    CHECK(std::string(t.columns[4].type) == "bit(64)");
    const auto& hnsw = t.indexes[0];
    CHECK(hnsw.struct_size == sizeof(plinth_index));
    CHECK(std::string(hnsw.method) == "hnsw");
    REQUIRE(hnsw.opclasses != nullptr);
    CHECK(std::string(hnsw.opclasses[0]) == "vector_cosine_ops");
    REQUIRE(hnsw.option_count == 2);
    CHECK(std::string(hnsw.option_names[0]) == "m");
    CHECK(std::string(hnsw.option_values[0]) == "16");
    CHECK(std::string(hnsw.option_names[1]) == "ef_construction");
    CHECK(std::string(hnsw.option_values[1]) == "64");
    const auto& ivfflat = t.indexes[1];
    CHECK(std::string(ivfflat.method) == "ivfflat");
    CHECK(std::string(ivfflat.opclasses[0]) == "halfvec_l2_ops");
    REQUIRE(ivfflat.option_count == 1);
    CHECK(std::string(ivfflat.option_names[0]) == "lists");
    CHECK(std::string(ivfflat.option_values[0]) == "100");
    const auto& plain = t.indexes[2];
    CHECK(plain.opclasses == nullptr);
    CHECK(plain.option_count == 0);
}

TEST_CASE("the SDK refuses more operator classes than keys instead of losing one") {
    CHECK_THROWS_WITH_AS(plinth::index({"e"}).opclasses({"vector_l2_ops", "vector_ip_ops"}),
                         "index with 1 keys given 2 operator classes", std::invalid_argument);
    CHECK_NOTHROW(plinth::index({"e", "f"}).opclasses({"vector_l2_ops"}));
}

TEST_CASE("the core plugin's similarity indexes load with their operator classes") {
    const auto core = load("core.so", plinth::test::plugins_dir());
    const auto t = std::find_if(core.tables.begin(), core.tables.end(), [](const auto& x) { return x.name == "embeddings"; });
    REQUIRE(t != core.tables.end());
    Strings methods, opclasses, keys;
    for (const auto& idx : t->indexes) {
        methods.push_back(idx.method);
        opclasses.push_back(idx.opclass(0));
        keys.push_back(idx.keys.at(0));
    }
    CHECK(methods == Strings{"btree", "hnsw", "hnsw", "hnsw", "hnsw", "hnsw", "hnsw"});
    CHECK(opclasses == Strings{"", "vector_cosine_ops", "vector_cosine_ops", "vector_cosine_ops", "vector_cosine_ops",
                               "vector_cosine_ops", "halfvec_cosine_ops"});
    CHECK(keys.back() == "(dim_3072::halfvec(3072))");
    CHECK(plinth::validate::validate({core}).problems.empty());
}

TEST_CASE("a plugin built against ABI 1.2 loads its indexes without reading past their end") {
    const auto plugin = load("abi_1_2_index.so");
    const auto& idx = plugin.tables.at(0).indexes.at(0);
    CHECK(idx.keys == Strings{"label"});
    CHECK(idx.opclasses.empty());  // the fake 1.3 tail names "not_an_opclass"
    CHECK(idx.options.empty());
}

TEST_CASE("an HNSW index on vector(3072) is refused offline, showing the halfvec expression index that works") {
    auto result = plinth::validate::validate({load("invalid_vector_index.so")});
    REQUIRE(result.problems.size() == 1);
    const auto text = result.problems[0].text();
    CHECK(text.find("plugin \"wide-vectors\": table \"passages\": index \"passages_embedding_idx\": hnsw indexes vector "
                    "of at most 2000 dimensions, and key \"embedding\" is vector(3072); index it as halfvec (up to 4000 "
                    "dimensions) with an expression key: ((embedding::halfvec(3072)) halfvec_cosine_ops), in C++ "
                    "plinth::index({\"(embedding::halfvec(3072))\"}).named(\"...\").hnsw(\"halfvec_cosine_ops\") "
                    "(declared at invalid_vector_index.cpp:" +
                    std::to_string(plinth::test::marked_line("invalid_vector_index.cpp", "@index")) + ")") !=
          std::string::npos);
}

TEST_CASE("pgvector's dimension limits per type and method") {
    // At the limits: accepted.
    CHECK(problems(passages({{"e", "vector(2000)"}}, similarity({"e"}, "hnsw", {"vector_l2_ops"}))).empty());
    CHECK(problems(passages({{"e", "vector(3072)"}},
                            similarity({"(e::halfvec(3072))"}, "hnsw", {"halfvec_cosine_ops"}))).empty());
    CHECK(problems(passages({{"h", "halfvec(4000)"}}, similarity({"h"}, "ivfflat", {"halfvec_ip_ops"}, {{"lists", "10"}})))
              .empty());
    CHECK(problems(passages({{"b", "bit(64000)"}}, similarity({"b"}, "hnsw", {"bit_hamming_ops"}))).empty());
    CHECK(problems(passages({{"s", "sparsevec(100000)"}}, similarity({"s"}, "hnsw", {"sparsevec_l2_ops"}))).empty());
    // Past them.
    CHECK(problems(passages({{"h", "halfvec(4001)"}}, similarity({"h"}, "hnsw", {"halfvec_l2_ops"}))) ==
          Strings{"hnsw indexes halfvec of at most 4000 dimensions, and key \"h\" is halfvec(4001)"});
    CHECK(problems(passages({{"b", "bit(64001)"}}, similarity({"b"}, "ivfflat", {"bit_hamming_ops"}, {{"lists", "1"}}))) ==
          Strings{"ivfflat indexes bit of at most 64000 dimensions, and key \"b\" is bit(64001)"});
    CHECK(problems(passages({{"e", "vector(4001)"}}, similarity({"e"}, "ivfflat", {"vector_l2_ops"}, {{"lists", "1"}}))) ==
          Strings{"ivfflat indexes vector of at most 2000 dimensions, and key \"e\" is vector(4001)"});
    CHECK(problems(passages({{"e", "vector(4000)"}}, similarity({"(e::halfvec(4001))"}, "hnsw", {"halfvec_l2_ops"}))) ==
          Strings{"hnsw indexes halfvec of at most 4000 dimensions, and key \"(e::halfvec(4001))\" is halfvec(4001)"});
    CHECK(problems(passages({{"s", "sparsevec(10)"}}, similarity({"s"}, "ivfflat", {"sparsevec_l2_ops"}, {{"lists", "1"}}))) ==
          Strings{"ivfflat cannot index sparsevec (key \"s\"); use hnsw"});
}

TEST_CASE("operator classes and options of an index are checked offline") {
    CHECK(problems(passages({{"e", "vector(3)"}}, similarity({"e"}, "hnsw", {"halfvec_cosine_ops"}))) ==
          Strings{"operator class \"halfvec_cosine_ops\" does not index vector (key \"e\"); use a vector_*_ops class"});
    CHECK(problems(passages({{"e", "vector(3)"}}, similarity({"e"}, "hnsw", {"vector_Cosine_ops"}))).size() == 1);
    CHECK(problems(passages({{"e", "vector(3)"}}, similarity({"e"}, "hnsw", {"vector_l2_ops"}, {{"lists", "4"}}))) ==
          Strings{"hnsw has no option \"lists\"; it takes ef_construction, m"});
    CHECK(problems(passages({{"e", "vector(3)"}}, similarity({"e"}, "hnsw", {"vector_l2_ops"}, {{"m", "4); DROP"}}))) ==
          Strings{"option \"m\" has value \"4); DROP\"; a value is a number or a word (letters, digits, _ . + -)"});
    CHECK(problems(passages({{"e", "vector(3)"}},
                            similarity({"e"}, "hnsw", {"vector_l2_ops"}, {{"m", "4"}, {"m", "8"}}))) ==
          Strings{"option \"m\" is given twice"});
    // Another method's storage parameters pass through to the server.
    CHECK(problems(passages({{"label", "text"}}, similarity({"label"}, "btree", {"text_pattern_ops"}, {{"fillfactor", "70"}})))
              .empty());
}
