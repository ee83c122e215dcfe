#include "model/schema.hpp"

namespace plinth::model {

const char* to_sql(FkAction action) {
    switch (action) {
        case FkAction::no_action: return "NO ACTION";
        case FkAction::restrict: return "RESTRICT";
        case FkAction::cascade: return "CASCADE";
        case FkAction::set_null: return "SET NULL";
        case FkAction::set_default: return "SET DEFAULT";
    }
    return "NO ACTION";
}

std::string SourceLocation::text() const {
    const auto slash = file.find_last_of('/');
    std::string out = slash == std::string::npos ? file : file.substr(slash + 1);
    if (line != 0) out += ":" + std::to_string(line);
    return out;
}

const std::string& Index::opclass(std::size_t i) const {
    static const std::string none;
    return i < opclasses.size() ? opclasses[i] : none;
}

const Column* Table::find_column(const std::string& column) const {
    for (const auto& c : columns)
        if (c.name == column) return &c;
    return nullptr;
}

}  // namespace plinth::model
