#include "model/actual_schema.hpp"

namespace plinth::model {

const ActualColumn* ActualTable::find_column(const std::string& column) const {
    for (const auto& c : columns)
        if (c.name == column) return &c;
    return nullptr;
}

const ActualTable* ActualSchema::find_table(const std::string& qualified) const {
    auto it = tables.find(qualified);
    return it == tables.end() ? nullptr : &it->second;
}

}  // namespace plinth::model
