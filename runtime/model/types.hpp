// SQL type spellings. Plugins write types the way people do ("int", "timestamptz", "varchar(64)");
// the catalog's format_type() writes them one canonical way. Both sides meet here.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace plinth::model {

// The spelling PostgreSQL's format_type() uses for `type`, e.g. "timestamptz" -> "timestamp with
// time zone", "varchar(64)[]" -> "character varying(64)[]". Unknown names (extension types such as
// "vector(384)") are returned lower-cased with white space folded.
std::string canonical_type(std::string_view type);

// The canonical type without modifiers or array brackets' contents: "character varying(64)" ->
// "character varying". Used where lengths do not matter (foreign key compatibility).
std::string base_type(std::string_view canonical);

// For "vector(N)" (pgvector), N; otherwise nullopt.
std::optional<int> vector_dimensions(std::string_view canonical);

// A type of pgvector's with its dimensions: vector(N), halfvec(N), sparsevec(N), and PostgreSQL's
// own bit(N), which pgvector indexes.
struct VectorType {
    std::string base;  // "vector", "halfvec", "sparsevec" or "bit"
    int dimensions = 0;
};
// For a canonical type of those four with its dimensions, the pair; otherwise nullopt.
std::optional<VectorType> vector_type(std::string_view canonical);

// Whether a canonical type needs the pgvector extension (vector, halfvec, sparsevec; not bit).
bool needs_pgvector(std::string_view canonical);

}  // namespace plinth::model
