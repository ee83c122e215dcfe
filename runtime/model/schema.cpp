#include "model/schema.hpp"

#include "model/text.hpp"

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

std::string index_tail(const Index& index) {
    std::vector<std::string> keys;
    for (std::size_t i = 0; i < index.keys.size(); ++i) {
        const auto& k = index.keys[i];
        keys.push_back((is_expression_key(k) ? "(" + k + ")" : quote_ident(k)) +
                       (index.opclass(i).empty() ? "" : " " + index.opclass(i)));
    }
    std::string out = "USING " + index.method + " (" + join(keys, ", ") + ")";
    if (!index.options.empty()) {
        std::vector<std::string> options;
        for (const auto& [name, value] : index.options) options.push_back(name + " = " + value);
        out += " WITH (" + join(options, ", ") + ")";
    }
    if (index.predicate) out += " WHERE (" + *index.predicate + ")";
    return out;
}

bool similarity_method(const std::string& method) { return method == "hnsw" || method == "ivfflat"; }

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
