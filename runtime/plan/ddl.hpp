// Internal to plan/: the SQL text of declared objects, one spelling per kind of statement or clause,
// so an operation and the "by hand" advice for the same object always agree.
#pragma once

#include <string>
#include <vector>

#include "model/schema.hpp"

namespace plinth::plan {

// ("a", "b")
std::string column_list(const std::vector<std::string>& columns);

// A declared default as it goes into DDL: "(expr)", so that it is one expression whatever it says.
std::string default_expression(const std::string& sql);

// "name" type [DEFAULT (expr)] [NOT NULL]
std::string column_sql(const model::Column& column);

// Table constraint clauses: CONSTRAINT "name" PRIMARY KEY / UNIQUE / CHECK / FOREIGN KEY ...
std::string primary_key_sql(const std::string& name, const std::vector<std::string>& columns);
std::string unique_sql(const model::UniqueConstraint& unique);
std::string check_sql(const model::Check& check);
std::string foreign_key_sql(const model::ForeignKey& foreign_key);

// CREATE TABLE with every column and check, of the foreign keys only `foreign_keys`, and the
// primary key and unique constraints when `with_keys` (else they are statements of their own).
std::string create_table_sql(const model::Table& table, const std::vector<model::ForeignKey>& foreign_keys,
                             bool with_keys);

// ALTER TABLE "schema"."table"
std::string alter_table_sql(const model::Table& table);
// ALTER TABLE "schema"."table" ALTER COLUMN "column"
std::string alter_column_sql(const model::Table& table, const std::string& column);
// ALTER TABLE "schema"."table" VALIDATE CONSTRAINT "name"
std::string validate_constraint_sql(const model::Table& table, const std::string& constraint);

// CREATE [UNIQUE] INDEX [CONCURRENTLY IF NOT EXISTS] "name" ON "schema"."table" USING ...
std::string index_sql(const model::Table& table, const model::Index& index, bool concurrently);

}  // namespace plinth::plan
