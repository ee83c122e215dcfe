// The schema the database actually has, as the catalog reports it: what the planner compares the
// declarations against. Plain values, so the planner can be fed one built by hand.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace plinth::model {

struct ActualColumn {
    std::string name;
    std::string type;  // format_type(): "character varying(64)", "timestamp with time zone"
    bool not_null = false;
    std::optional<std::string> default_sql;  // pg_get_expr(): "'active'::text", "now()"
};

struct ActualConstraint {
    std::string name;
    char kind = 0;  // 'p' primary key, 'u' unique, 'f' foreign key, 'c' check
    bool validated = true;
    std::vector<std::string> columns;
    std::string ref_schema, ref_table;       // foreign keys
    std::vector<std::string> ref_columns;    // foreign keys
    char on_delete = 'a', on_update = 'a';   // pg_constraint confdeltype/confupdtype letters
    std::string definition;                  // pg_get_constraintdef()
};

struct ActualIndex {
    std::string name;
    bool unique = false;
    bool valid = true;             // false after an interrupted CREATE INDEX CONCURRENTLY
    bool building = false;         // a CREATE INDEX is in progress right now
    std::string method;
    std::vector<std::string> keys;  // pg_get_indexdef(oid, k, true): a column name or an expression
    std::vector<bool> expression_keys;  // per key: an expression rather than a column
    std::optional<std::string> predicate;
    // Per key: its operator class, and whether that is its type's default.
    std::vector<std::string> opclasses{};
    std::vector<bool> default_opclasses{};
    // Storage parameters (pg_class.reloptions), sorted by name: {"ef_construction", "64"}, {"m", "16"}.
    std::vector<std::pair<std::string, std::string>> options{};
};

struct ActualTable {
    std::string schema, name;
    std::vector<ActualColumn> columns;  // in attnum order
    std::map<std::string, ActualConstraint> constraints;
    std::map<std::string, ActualIndex> indexes;

    const ActualColumn* find_column(const std::string& column) const;
};

struct ActualSchema {
    std::set<std::string> schemas;               // those of the asked-for schemas that exist
    std::map<std::string, ActualTable> tables;   // by "schema.table"
    std::set<std::string> relation_names;        // "schema.name" of every table, index, view, sequence
    bool vector_available = false;               // pgvector can be created on this server
    bool vector_installed = false;
    // Whether this role may CREATE EXTENSION vector in this database: a superuser may; others only
    // for a trusted extension (pgvector is not) with CREATE on the database.
    bool vector_creatable = false;
    std::string role;      // current_user, for messages
    std::string database;  // current_database(), for messages

    const ActualTable* find_table(const std::string& qualified) const;
};

}  // namespace plinth::model
