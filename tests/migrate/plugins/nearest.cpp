// Similarity search through the host API: at start it stores embeddings in core's `embeddings`, finds
// the nearest ones to a query vector passed as a text parameter (ORDER BY dim_384 <=> $1::vector
// LIMIT 5), and records what it found and how the server ran that search (EXPLAIN) in its own
// tables, for tests/host/test_vector_search.cpp.
#include "common.hpp"

#include <cmath>
#include <cstdio>
#include <string>

namespace {

constexpr int kEmbeddings = 200;
constexpr int kQuerySeed = 7;  // the query is the 7th stored vector: it must come first

// A deterministic vector of 384 dimensions in pgvector's text form, "[0.1,-0.2,...]".
std::string vector_text(int seed) {
    std::string out = "[";
    for (int i = 0; i < 384; ++i) {
        char number[32];
        std::snprintf(number, sizeof number, "%s%.5f", i ? "," : "", std::sin(seed * 0.37 + i * (0.11 + seed * 0.001)));
        out += number;
    }
    return out + "]";
}

constexpr const char* kNearest = "SELECT id, dim_384 <=> $1::vector AS distance FROM embeddings "
                                 "ORDER BY dim_384 <=> $1::vector LIMIT 5";

struct Nearest {
    void start(const plinth::host& h) {
        {
            plinth::transaction tx(h);
            const auto agent = tx.query("INSERT INTO agents (name) VALUES ('nearest') RETURNING id");
            const auto memory = tx.query("INSERT INTO memories (type, content, agent_id) VALUES ('note', '{}', $1) RETURNING id",
                                         {*agent[0][0]});
            for (int seed = 1; seed <= kEmbeddings; ++seed)
                tx.execute("INSERT INTO embeddings (memory_id, dim_384) VALUES ($1, $2::vector)",
                           {*memory[0][0], vector_text(seed)});
            tx.commit();
        }
        const std::string query = vector_text(kQuerySeed);
        const auto found = h.query(kNearest, {query});
        for (std::size_t rank = 0; rank < found.size(); ++rank)
            h.execute("INSERT INTO nearest_findings (rank, embedding_id, distance) VALUES ($1, $2, $3)",
                      {static_cast<int>(rank + 1), found.at(rank, "id"), found.at(rank, "distance")});
        // With a few hundred rows a sequential scan costs less; turned off, the plan shows the index.
        plinth::transaction tx(h);
        tx.execute("SET LOCAL enable_seqscan = off");
        const auto plan = tx.query(std::string("EXPLAIN ") + kNearest, {query});
        tx.commit();
        for (std::size_t line = 0; line < plan.size(); ++line)
            h.execute("INSERT INTO nearest_plans (line, text) VALUES ($1, $2)", {static_cast<int>(line + 1), plan[line][0]});
        h.info("stored " + std::to_string(kEmbeddings) + " embeddings, found " + std::to_string(found.size()));
    }
};

plinth::plugin describe() {
    return plinth::plugin("nearest", "1.0.0")
        .requires_plugin("core")
        .table(plinth::table("nearest_findings", {
            integer("rank").primary_key(),
            uuid("embedding_id").not_null(),
            double_precision("distance").not_null(),
        }))
        .table(plinth::table("nearest_plans", {
            integer("line").primary_key(),
            text("text").not_null(),
        }))
        .runs<Nearest>();
}

}  // namespace

PLINTH_PLUGIN(describe)
