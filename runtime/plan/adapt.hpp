// Internal to plan/: the declarations as this server will hold them, before they are compared.
#pragma once

#include <string>
#include <vector>

#include "model/actual_schema.hpp"
#include "model/schema.hpp"
#include "plan/plan.hpp"

namespace plinth::plan {

// Without pgvector on the server, each vector(N) or halfvec(N) column becomes real[] with a check
// that it holds N elements, similarity indexes (hnsw, ivfflat) are left out, and a note says each.
// A sparsevec column has no such fallback: it becomes a blocking entry of `not_done`.
std::vector<model::Plugin> adapt_to_server(std::vector<model::Plugin> plugins, const model::ActualSchema& actual,
                                           std::vector<std::string>& notes, std::vector<NotDone>& not_done);

// The name of the fallback's length check on `column`: "<table>_<column>_dims_check".
std::string fallback_check_name(const std::string& table, const std::string& column);


}  // namespace plinth::plan
