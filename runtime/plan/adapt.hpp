// Internal to plan/: the declarations as this server will hold them, before they are compared.
#pragma once

#include <string>
#include <vector>

#include "model/actual_schema.hpp"
#include "model/schema.hpp"

namespace plinth::plan {

// Without pgvector on the server, each vector(N) column becomes real[] with a check that it holds
// N elements, and a note says so.
std::vector<model::Plugin> adapt_to_server(std::vector<model::Plugin> plugins, const model::ActualSchema& actual,
                                           std::vector<std::string>& notes);

}  // namespace plinth::plan
