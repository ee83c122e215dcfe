#include "model/database_probe.hpp"

namespace plinth::model {

std::string index_spelling(const std::vector<std::string>& keys, const std::optional<std::string>& predicate) {
    std::string out;
    for (const auto& k : keys) out += (out.empty() ? "" : ", ") + k;
    return predicate ? out + " WHERE " + *predicate : out;
}

}  // namespace plinth::model
