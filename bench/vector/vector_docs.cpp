// A benchmark plugin for bench/vector_index.sh: table bench.docs of 384-dimension embeddings, and,
// with PLINTH_BENCH_HNSW set, the version that declares an HNSW cosine index on them.
#include <cstdlib>

#include <plinth/plinth.hpp>

namespace {

using namespace plinth::columns;

plinth::plugin describe() {
    const bool hnsw = std::getenv("PLINTH_BENCH_HNSW") != nullptr;
    auto docs = plinth::table("docs", {
        uuid("id").primary_key().default_random(),
        vector("embedding", 384).not_null(),
    });
    if (hnsw) docs.add(plinth::index({"embedding"}).hnsw("vector_cosine_ops"));
    return plinth::plugin("vector-bench", hnsw ? "2.0.0" : "1.0.0").schema("bench").table(std::move(docs));
}

}  // namespace

PLINTH_PLUGIN(describe)
