#include "plan/adapt.hpp"

#include "model/text.hpp"
#include "model/types.hpp"
#include "plan/hash.hpp"

namespace plinth::plan {

std::string fallback_check_name(const std::string& table, const std::string& column) {
    std::string name = table + "_" + column + "_dims_check";
    // PostgreSQL would truncate a longer name; a hash keeps shortened names apart.
    if (name.size() > 63) name = name.substr(0, 46) + "_" + hash_hex(name);
    return name;
}

std::vector<model::Plugin> adapt_to_server(std::vector<model::Plugin> plugins, const model::ActualSchema& actual,
                                           std::vector<std::string>& notes, std::vector<NotDone>& not_done) {
    if (actual.vector_available) return plugins;
    for (auto& p : plugins) {
        for (auto& t : p.tables) {
            for (auto& c : t.columns) {
                const auto type = model::vector_type(model::canonical_type(c.type));
                if (!type || type->base == "bit") continue;
                if (type->base == "sparsevec") {
                    not_done.push_back({p.name, t.qualified_name(), "column \"" + c.name + "\"",
                                        "sparsevec needs the pgvector extension, which this server does not offer, "
                                        "and has no fallback; install pgvector on the server",
                                        "CREATE EXTENSION vector", true});
                    continue;
                }
                const std::string declared = c.type;
                c.type = "real[]";
                const std::string col = model::quote_ident(c.name);
                t.checks.push_back({fallback_check_name(t.name, c.name),
                                    col + " IS NULL OR (array_ndims(" + col + ") = 1 AND array_length(" + col +
                                        ", 1) = " + std::to_string(type->dimensions) + ")"});
                notes.push_back("the server has no pgvector extension: " + t.qualified_name() + "." + c.name +
                                " is real[] with a check of " + std::to_string(type->dimensions) + " elements instead of " +
                                model::canonical_type(declared));
            }
            std::erase_if(t.indexes, [&](const model::Index& idx) {
                if (!model::similarity_method(idx.method)) return false;
                notes.push_back("the server has no pgvector extension: index " + idx.name + " on " + t.qualified_name() +
                                " (" + idx.method + ") is left out; searches on the fallback scan the table");
                return true;
            });
        }
    }
    return plugins;
}

}  // namespace plinth::plan
