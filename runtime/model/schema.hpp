// The runtime's own model of plugins and their schema: deep copies of what plugins declare,
// independent of any plugin library's memory.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <plinth/plinth_plugin.h>

namespace boost::dll {
class shared_library;
}

namespace plinth::model {

enum class FkAction : std::uint8_t { no_action, restrict, cascade, set_null, set_default };

// The SQL spelling of an action, e.g. "SET NULL".
const char* to_sql(FkAction action);

// Where a plugin's author declared something (ABI 1.2; the C++ SDK records it). Only messages use
// it: it is no part of the schema, so moving a declaration changes nothing in the database. Each
// declared object ends with an optional one, braced so that an aggregate initialiser stopping
// before it draws no -Wmissing-field-initializers.
struct SourceLocation {
    std::string file;        // as the plugin's compiler saw it, e.g. "../plugins/notes/notes.cpp"
    std::uint32_t line = 0;  // 0: not known
    // "notes.cpp:56": the file's base name, then the line when known.
    std::string text() const;
};

struct Column {
    std::string name;
    std::string type;
    std::optional<std::string> default_sql;
    bool not_null = false;
    std::optional<SourceLocation> source{};
    // ABI 1.4. The expression that fills existing rows before NOT NULL is set (see plinth_column).
    std::optional<std::string> backfill{};
    // ABI 1.4. The USING expression of a type change that rewrites the table.
    std::optional<std::string> using_expression{};
    // ABI 1.4: the column's previous name in its table, renamed in place while the database has it.
    std::optional<std::string> renamed_from{};
};

struct UniqueConstraint {
    std::string name;
    std::vector<std::string> columns;
    std::optional<SourceLocation> source{};
};

struct Index {
    std::string name;
    bool unique = false;
    std::string method = "btree";
    // A column name, or an expression in parentheses.
    std::vector<std::string> keys;
    std::optional<std::string> predicate;
    std::optional<SourceLocation> source{};
    // ABI 1.3. Per key, its operator class; "" (or no entries at all) is the type's default.
    std::vector<std::string> opclasses{};
    // Storage parameters (WITH (m = 16)), sorted by name, each name once.
    std::vector<std::pair<std::string, std::string>> options{};

    // The operator class of key `i`, "" for the default.
    const std::string& opclass(std::size_t i) const;
};

// "USING method (keys [opclass]) [WITH (options)] [WHERE (predicate)]": what follows the table in
// CREATE INDEX. Each expression key and the predicate stand in parentheses of their own, so declared
// SQL never reaches the statement's own syntax.
std::string index_tail(const Index& index);

// An index method of pgvector's: hnsw or ivfflat.
bool similarity_method(const std::string& method);

// True for an index key written as an expression: "(lower(name))".
inline bool is_expression_key(std::string_view key) { return !key.empty() && key.front() == '('; }

struct ForeignKey {
    std::string name;
    std::vector<std::string> columns;
    std::string ref_schema;
    std::string ref_table;
    // Filled with the referenced primary key by validation when the plugin left it empty.
    std::vector<std::string> ref_columns;
    FkAction on_delete = FkAction::no_action;
    FkAction on_update = FkAction::no_action;
    std::optional<SourceLocation> source{};
};

struct Check {
    std::string name;
    std::string expression;
    std::optional<SourceLocation> source{};
};

struct Table {
    std::string schema;
    std::string name;
    std::vector<Column> columns;
    std::string primary_key_name;
    std::vector<std::string> primary_key;
    std::vector<UniqueConstraint> uniques;
    std::vector<Index> indexes;
    std::vector<ForeignKey> foreign_keys;
    std::vector<Check> checks;
    std::optional<SourceLocation> source{};
    // ABI 1.4: the table's previous name in its schema, renamed in place while the database has it.
    std::optional<std::string> renamed_from{};

    // "schema.table", the key tables are known by across plugins.
    std::string qualified_name() const { return schema + "." + name; }
    const Column* find_column(const std::string& column) const;
};

// Lifecycle entry points copied from the descriptor. The library handle keeps them valid.
struct Lifecycle {
    std::shared_ptr<boost::dll::shared_library> library;
    plinth_init_fn init = nullptr;
    plinth_start_fn start = nullptr;
    plinth_stop_fn stop = nullptr;
    plinth_upgrade_fn upgrade = nullptr;  // ABI 1.4; run by apply/ when the plugin's version changed
};

struct Plugin {
    std::string file;  // the .so it came from, as given to the loader
    std::string name;
    std::string version;
    std::string schema = "public";
    std::vector<std::string> requires_plugins;
    std::vector<Table> tables;
    Lifecycle lifecycle;
    // The loader's load::descriptor_digest of the descriptor this was copied from.
    std::optional<std::uint64_t> digest{};
};

}  // namespace plinth::model
