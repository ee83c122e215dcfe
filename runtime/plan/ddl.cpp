#include "plan/ddl.hpp"

#include "model/text.hpp"
#include "model/types.hpp"

namespace plinth::plan {

using model::join;
using model::qualified;
using model::quote_ident;

std::string column_list(const std::vector<std::string>& columns) {
    std::vector<std::string> quoted;
    for (const auto& c : columns) quoted.push_back(quote_ident(c));
    return "(" + join(quoted, ", ") + ")";
}

std::string column_sql(const model::Column& column) {
    std::string out = quote_ident(column.name) + " " + model::canonical_type(column.type);
    if (column.default_sql) out += " DEFAULT " + default_expression(*column.default_sql);
    if (column.not_null) out += " NOT NULL";
    return out;
}

std::string default_expression(const std::string& sql) { return "(" + sql + ")"; }

std::string primary_key_sql(const std::string& name, const std::vector<std::string>& columns) {
    return "CONSTRAINT " + quote_ident(name) + " PRIMARY KEY " + column_list(columns);
}

std::string unique_sql(const model::UniqueConstraint& unique) {
    return "CONSTRAINT " + quote_ident(unique.name) + " UNIQUE " + column_list(unique.columns);
}

std::string check_sql(const model::Check& check) {
    return "CONSTRAINT " + quote_ident(check.name) + " CHECK (" + check.expression + ")";
}

std::string foreign_key_sql(const model::ForeignKey& foreign_key) {
    std::string out = "CONSTRAINT " + quote_ident(foreign_key.name) + " FOREIGN KEY " + column_list(foreign_key.columns) +
                      " REFERENCES " + qualified(foreign_key.ref_schema, foreign_key.ref_table) + " " +
                      column_list(foreign_key.ref_columns);
    if (foreign_key.on_delete != model::FkAction::no_action)
        out += std::string(" ON DELETE ") + model::to_sql(foreign_key.on_delete);
    if (foreign_key.on_update != model::FkAction::no_action)
        out += std::string(" ON UPDATE ") + model::to_sql(foreign_key.on_update);
    return out;
}

std::string create_table_sql(const model::Table& table, const std::vector<model::ForeignKey>& foreign_keys,
                             bool with_keys) {
    std::vector<std::string> parts;
    for (const auto& c : table.columns) parts.push_back(column_sql(c));
    if (with_keys) {
        parts.push_back(primary_key_sql(table.primary_key_name, table.primary_key));
        for (const auto& u : table.uniques) parts.push_back(unique_sql(u));
    }
    for (const auto& ch : table.checks) parts.push_back(check_sql(ch));
    for (const auto& fk : foreign_keys) parts.push_back(foreign_key_sql(fk));
    return "CREATE TABLE " + qualified(table.schema, table.name) + " (\n  " + join(parts, ",\n  ") + "\n)";
}

std::string alter_table_sql(const model::Table& table) { return "ALTER TABLE " + qualified(table.schema, table.name); }

std::string alter_column_sql(const model::Table& table, const std::string& column) {
    return alter_table_sql(table) + " ALTER COLUMN " + quote_ident(column);
}

std::string validate_constraint_sql(const model::Table& table, const std::string& constraint) {
    return alter_table_sql(table) + " VALIDATE CONSTRAINT " + quote_ident(constraint);
}

std::string index_sql(const model::Table& table, const model::Index& index, bool concurrently) {
    return std::string("CREATE ") + (index.unique ? "UNIQUE " : "") + "INDEX " +
           (concurrently ? "CONCURRENTLY IF NOT EXISTS " : "") + quote_ident(index.name) + " ON " +
           qualified(table.schema, table.name) + " " + model::index_tail(index);
}

}  // namespace plinth::plan
