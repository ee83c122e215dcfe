#include "plan/adapt.hpp"

#include "model/text.hpp"
#include "model/types.hpp"
#include "plan/hash.hpp"

namespace plinth::plan {

std::vector<model::Plugin> adapt_to_server(std::vector<model::Plugin> plugins, const model::ActualSchema& actual,
                                           std::vector<std::string>& notes) {
    if (actual.vector_available) return plugins;
    for (auto& p : plugins) {
        for (auto& t : p.tables) {
            for (auto& c : t.columns) {
                auto dims = model::vector_dimensions(model::canonical_type(c.type));
                if (!dims) continue;
                c.type = "real[]";
                std::string name = t.name + "_" + c.name + "_dims_check";
                // PostgreSQL would truncate a longer name; a hash keeps shortened names apart.
                if (name.size() > 63) name = name.substr(0, 46) + "_" + hash_hex(name);
                const std::string col = model::quote_ident(c.name);
                t.checks.push_back({name, col + " IS NULL OR (array_ndims(" + col + ") = 1 AND array_length(" + col +
                                              ", 1) = " + std::to_string(*dims) + ")"});
                notes.push_back("the server has no pgvector extension: " + t.qualified_name() + "." + c.name +
                                " is real[] with a check of " + std::to_string(*dims) + " elements instead of vector(" +
                                std::to_string(*dims) + ")");
            }
        }
    }
    return plugins;
}

}  // namespace plinth::plan
