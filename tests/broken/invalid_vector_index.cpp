// An HNSW index on vector(3072): pgvector's HNSW takes vector of at most 2000 dimensions.
#include "sdk_base.hpp"
static plinth::plugin describe() {
    return plinth::plugin("wide-vectors", "1.0.0").table(
        plinth::table("passages", {
            uuid("id").primary_key(),
            vector("embedding", 3072),
        }).add(plinth::index({"embedding"}).hnsw("vector_cosine_ops")));  // @index
}
PLINTH_PLUGIN(describe)
