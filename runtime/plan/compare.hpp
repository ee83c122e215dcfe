// Internal to plan/: the rules that decide whether what the database has is what a plugin declares.
#pragma once

#include <string>

#include "model/actual_schema.hpp"
#include "model/schema.hpp"

namespace plinth::plan {

// A catalog default and a declared one, brought to one spelling: 'active'::text -> 'active',
// '-1'::integer -> -1, '{}'::jsonb -> '{}', NOW() -> now(). Outside quoted text, case does not matter.
std::string normalize_default(const std::string& sql);

// A type change PostgreSQL makes without rewriting the table or losing data.
bool safe_type_change(const std::string& from, const std::string& to);

// The pg_constraint confdeltype/confupdtype letter of an action.
char action_letter(model::FkAction action);

// An index of plain columns without a predicate: the catalog spells it exactly as declared.
bool plain_index(const model::Index& index);

// Whether an index of the database matches a declared one. Expressions and predicates come back
// from the server in its own spelling, so for those only their place and presence are compared.
bool same_index(const model::Index& want, const model::ActualIndex& have);
// The part of that comparison about its keys: uniqueness, key columns, where the expressions and
// the predicate are.
bool same_index_keys(const model::Index& want, const model::ActualIndex& have);
// The rest: method, each key's operator class (none declared: the type's default), storage
// parameters. An index that differs only there is rebuilt as declared; it holds no data of its own.
bool same_index_build(const model::Index& want, const model::ActualIndex& have);

// Foreign keys and unique constraints match by structure, whatever their names.
bool same_foreign_key(const model::ForeignKey& want, const model::ActualConstraint& have);
bool same_unique(const model::UniqueConstraint& want, const model::ActualConstraint& have);

// A check's pg_get_constraintdef() without the " NOT VALID" a constraint not yet validated carries,
// so it compares with the server's spelling of the declared check.
std::string check_definition(const model::ActualConstraint& check);

}  // namespace plinth::plan
