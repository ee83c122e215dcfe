#include "validate/validator.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <regex>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <unordered_map>

#include "model/text.hpp"
#include "model/types.hpp"
#include "validate/identifiers.hpp"
#include "validate/spelling.hpp"

namespace plinth::validate {

std::string Problem::text() const {
    std::string out = file + ": plugin \"" + plugin + "\": ";
    if (!table.empty()) out += "table \"" + table + "\": ";
    if (!item.empty()) out += item + ": ";
    out += message;
    if (!location.empty()) out += " (declared at " + location + ")";
    return out;
}

std::string Skip::text() const { return file + ": plugin \"" + plugin + "\" skipped: " + reason; }

namespace {

using model::join;
using Source = std::optional<model::SourceLocation>;

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

std::vector<std::string> columns_of(const model::Table& t) {
    std::vector<std::string> names;
    for (const auto& c : t.columns) names.push_back(c.name);
    return names;
}

// `column "x" does not exist in the table`, with the column probably meant.
std::string missing_column(const model::Table& t, const std::string& column) {
    return "column " + quoted(column) + " does not exist in the table" + did_you_mean(column, columns_of(t));
}

// The first claim on each name of one namespace (the columns of a table, its constraint names), for
// "declared twice" checks: a scan while there are few, as there usually are, so checking a table
// allocates nothing; a set once there are many. The names must outlive it, unchanged.
template <class Value>
class FirstClaims {
public:
    // The value `name` was first claimed with, or nullptr when this is its first claim.
    const Value* claim(std::string_view name, Value value) {
        if (many_.empty()) {
            for (std::size_t i = 0; i < count_; ++i)
                if (few_[i].first == name) return &few_[i].second;
            if (count_ < few_.size()) {
                few_[count_++] = {name, std::move(value)};
                return nullptr;
            }
            many_.insert(few_.begin(), few_.end());
        }
        const auto [it, fresh] = many_.emplace(name, std::move(value));
        return fresh ? nullptr : &it->second;
    }

private:
    std::array<std::pair<std::string_view, Value>, 16> few_{};
    std::size_t count_ = 0;
    std::map<std::string_view, Value> many_;
};

// Names met so far; insert() is false for a name met before.
class SeenNames {
public:
    bool insert(std::string_view name) { return claims_.claim(name, true) == nullptr; }

private:
    FirstClaims<bool> claims_;
};

// One declared name that may say what it was called before (ABI 1.4 renames).
struct Renamable {
    std::string name;
    std::optional<std::string> renamed_from;
    Source source;
};

// What is wrong with the renames among `items`, names that share one namespace (the columns of a
// table, the tables of a schema): an old name that is not an identifier, that names the item itself
// or another declared item (a cycle, when following the old names comes back), or that two items
// give. `kind` is "column" or "table". Calls `report(item, message)` for each problem.
template <class Report>
void check_renames(const std::vector<Renamable>& items, const std::string& kind, Report report) {
    if (std::none_of(items.begin(), items.end(), [](const Renamable& item) { return item.renamed_from.has_value(); }))
        return;
    std::map<std::string, const Renamable*> declared, claimed;
    for (const auto& item : items) declared.emplace(item.name, &item);
    for (const auto& item : items) {
        if (!item.renamed_from) continue;
        const std::string& old = *item.renamed_from;
        if (auto bad = check_identifier(old)) {
            report(item, "renamed_from " + *bad);
            continue;
        }
        if (old == item.name) {
            report(item, "renamed_from names the " + kind + " itself");
            continue;
        }
        if (auto [it, fresh] = claimed.emplace(old, &item); !fresh)
            report(item, "renamed_from " + quoted(old) + " is also given by " + kind + " " + quoted(it->second->name) +
                             ": one old name can become only one new name");
        if (!declared.count(old)) continue;
        // Follow the old names: back at this item is a cycle, else the old name is still in use.
        std::vector<std::string> chain{item.name, old};
        for (auto at = declared.find(old); at != declared.end() && at->second->renamed_from &&
                                           chain.size() <= items.size();
             at = declared.find(*at->second->renamed_from)) {
            chain.push_back(*at->second->renamed_from);
            if (chain.back() == item.name) break;
        }
        if (chain.back() == item.name)
            report(item, "renames form a cycle: " + join(chain, " <- ") + "; rename in two releases, through a name no " +
                             kind + " uses");
        else
            report(item, "renamed_from " + quoted(old) + " names a " + kind +
                             " still declared here: a rename leaves only the new name");
    }
}

class Checker {
public:
    explicit Checker(std::vector<Problem>& problems) : problems_(problems) {}

    // `source` is where the item the problem is about was declared, when the plugin said.
    void add(const model::Plugin& p, const std::string& table, const std::string& item, std::string message,
             const Source& source) {
        problems_.push_back({p.file, p.name, table, item, std::move(message), source ? source->text() : ""});
    }

    // Checks one plugin on its own and fills in the names and defaults it left out.
    void check_plugin(model::Plugin& p) {
        if (auto bad = check_plugin_name(p.name)) add(p, "", "", "plugin name " + *bad, std::nullopt);
        if (auto bad = check_version(p.version)) add(p, "", "", "version " + *bad, std::nullopt);
        if (auto bad = check_schema_name(p.schema)) add(p, "", "", "schema " + quoted(p.schema) + " " + *bad, std::nullopt);
        SeenNames required;
        for (const auto& r : p.requires_plugins) {
            if (auto bad = check_plugin_name(r)) add(p, "", "", "required plugin name " + quoted(r) + " " + *bad, std::nullopt);
            else if (r == p.name) add(p, "", "", "requires itself", std::nullopt);
            else if (!required.insert(r)) add(p, "", "", "requires plugin " + quoted(r) + " twice", std::nullopt);
        }
        SeenNames tables;
        for (auto& t : p.tables) {
            if (auto bad = check_identifier(t.name)) {
                add(p, t.name, "", "table name " + *bad, t.source);
                continue;
            }
            if (!tables.insert(t.name)) add(p, t.name, "", "table is declared twice in this plugin", t.source);
            check_table(p, t);
        }
    }

private:
    // `what()` names the item a problem is about; it is called only for a problem, so that a valid
    // declaration costs no text. The same holds for every `what` below.
    template <class What>
    void check_name_list(const model::Plugin& p, const model::Table& t, const What& what,
                         const std::vector<std::string>& columns, const Source& source) {
        if (columns.empty()) add(p, t.name, what(), "has no columns", source);
        SeenNames seen;
        for (const auto& c : columns) {
            if (!t.find_column(c)) add(p, t.name, what(), missing_column(t, c), source);
            else if (!seen.insert(c)) add(p, t.name, what(), "lists column " + quoted(c) + " twice", source);
        }
    }

    // Fills a constraint name PostgreSQL-style when the plugin gave none (`generated()`), and checks it.
    template <class What, class Generated>
    void name_constraint(const model::Plugin& p, const model::Table& t, std::string& name, const What& what,
                         const Generated& generated, const Source& source) {
        if (name.empty()) {
            name = generated();
            if (name.size() > kMaxIdentifierBytes)
                add(p, t.name, what(), "generated name " + quoted(name) + " is " + std::to_string(name.size()) +
                    " bytes; PostgreSQL would truncate it to 63: give this constraint a shorter name", source);
            return;
        }
        if (auto bad = check_identifier(name)) add(p, t.name, what(), "name " + *bad, source);
    }

    template <class What>
    void check_sql(const model::Plugin& p, const model::Table& t, const What& what, const char* label,
                   const std::string& sql, const Source& source) {
        if (auto bad = check_expression(sql)) add(p, t.name, what(), label + (" " + *bad), source);
    }

    void check_table(model::Plugin& p, model::Table& t) {
        if (t.columns.empty()) add(p, t.name, "", "has no columns", t.source);
        SeenNames column_names;
        for (const auto& c : t.columns) {
            const auto what = [&] { return "column " + quoted(c.name); };
            if (auto bad = check_identifier(c.name)) add(p, t.name, what(), "name " + *bad, c.source);
            else if (is_system_column(c.name))
                add(p, t.name, what(), "name is a PostgreSQL system column (xmin, xmax, cmin, cmax, ctid, tableoid, oid): choose another name",
                    c.source);
            else if (!column_names.insert(c.name)) add(p, t.name, what(), "is declared twice", c.source);
            if (auto bad = check_type(c.type)) add(p, t.name, what(), "type " + quoted(c.type) + " " + *bad, c.source);
            if (c.default_sql) check_sql(p, t, what, "default", *c.default_sql, c.source);
            if (c.backfill) {
                check_sql(p, t, what, "backfill", *c.backfill, c.source);
                // A backfill exists to fill rows before NOT NULL is set; on a nullable column it is a slip.
                if (!c.not_null)
                    add(p, t.name, what(), "declares a backfill but is not NOT NULL: a backfill fills existing rows "
                        "before NOT NULL is set; mark the column not_null(), or declare a default instead", c.source);
                if (std::find(t.primary_key.begin(), t.primary_key.end(), c.name) != t.primary_key.end())
                    add(p, t.name, what(), "is part of the primary key and declares a backfill: a key column cannot be "
                        "added empty and filled later", c.source);
            }
            if (c.using_expression) check_sql(p, t, what, "USING expression", *c.using_expression, c.source);
        }
        if (std::any_of(t.columns.begin(), t.columns.end(), [](const auto& c) { return c.renamed_from.has_value(); })) {
            std::vector<Renamable> renamable;
            for (const auto& c : t.columns) renamable.push_back({c.name, c.renamed_from, c.source});
            check_renames(renamable, "column", [&](const Renamable& c, std::string message) {
                add(p, t.name, "column " + quoted(c.name), std::move(message), c.source);
            });
        }

        // The primary key has no declaration of its own: its problems point at the table.
        if (t.primary_key.empty()) {
            add(p, t.name, "", "has no primary key: mark a column primary_key() or declare a composite key", t.source);
        } else {
            const auto what = [] { return std::string("primary key"); };
            check_name_list(p, t, what, t.primary_key, t.source);
            name_constraint(p, t, t.primary_key_name, what, [&] { return t.name + "_pkey"; }, t.source);
            // PostgreSQL makes key columns NOT NULL; saying so here keeps the comparison exact.
            for (auto& c : t.columns)
                if (std::find(t.primary_key.begin(), t.primary_key.end(), c.name) != t.primary_key.end()) c.not_null = true;
        }
        for (auto& u : t.uniques) {
            name_constraint(p, t, u.name, [&] { return "unique constraint " + quoted(join(u.columns, ", ")); },
                            [&] { return t.name + "_" + join(u.columns, "_") + "_key"; }, u.source);
            check_name_list(p, t, [&] { return "unique constraint " + quoted(u.name); }, u.columns, u.source);
        }
        for (auto& idx : t.indexes) {
            const bool has_expression = std::any_of(idx.keys.begin(), idx.keys.end(), model::is_expression_key);
            if (has_expression && idx.name.empty())
                add(p, t.name, "index " + quoted(join(idx.keys, ", ")), "an index with expression keys needs an explicit name",
                    idx.source);
            else
                name_constraint(p, t, idx.name, [&] { return "index " + quoted(join(idx.keys, ", ")); },
                                [&] { return t.name + "_" + join(idx.keys, "_") + "_idx"; }, idx.source);
            const auto what = [&] { return "index " + quoted(idx.name.empty() ? join(idx.keys, ", ") : idx.name); };
            if (idx.keys.empty()) add(p, t.name, what(), "has no keys", idx.source);
            for (const auto& key : idx.keys) {
                if (model::is_expression_key(key))
                    check_sql(p, t, what, "key", key, idx.source);
                else if (!t.find_column(key))
                    add(p, t.name, what(), missing_column(t, key), idx.source);
            }
            if (auto bad = check_identifier(idx.method))
                add(p, t.name, what(), "method " + quoted(idx.method) + " " + *bad, idx.source);
            if (idx.predicate) check_sql(p, t, what, "predicate", *idx.predicate, idx.source);
            check_index_options(p, t, idx, what);
        }
        for (auto& fk : t.foreign_keys) {
            name_constraint(p, t, fk.name, [&] { return "foreign key " + quoted(join(fk.columns, ", ")); },
                            [&] { return t.name + "_" + join(fk.columns, "_") + "_fkey"; }, fk.source);
            const auto what = [&] { return "foreign key " + quoted(fk.name); };
            check_name_list(p, t, what, fk.columns, fk.source);
            if (auto bad = check_identifier(fk.ref_table)) add(p, t.name, what(), "referenced table name " + *bad, fk.source);
            if (auto bad = check_identifier(fk.ref_schema))
                add(p, t.name, what(), "referenced schema " + quoted(fk.ref_schema) + " " + *bad, fk.source);
            if (!fk.ref_columns.empty() && fk.ref_columns.size() != fk.columns.size())
                add(p, t.name, what(), "has " + std::to_string(fk.columns.size()) + " columns but " +
                    std::to_string(fk.ref_columns.size()) + " referenced columns", fk.source);
            for (const auto& c : fk.columns) {
                const auto* col = t.find_column(c);
                if (col && col->not_null && (fk.on_delete == model::FkAction::set_null || fk.on_update == model::FkAction::set_null))
                    add(p, t.name, what(), "uses SET NULL but column " + quoted(c) + " is NOT NULL", fk.source);
            }
        }
        for (const auto& ch : t.checks) {
            const auto what = [&] { return "check " + quoted(ch.name); };
            if (auto bad = check_identifier(ch.name)) add(p, t.name, what(), "name " + *bad, ch.source);
            check_sql(p, t, what, "expression", ch.expression, ch.source);
        }
        // Constraint names are per table in PostgreSQL.
        FirstClaims<const char*> constraint_kinds;
        auto claim = [&](const std::string& name, const char* kind, const Source& source) {
            if (name.empty()) return;
            if (const auto* first = constraint_kinds.claim(name, kind))
                add(p, t.name, kind + (" " + quoted(name)), "has the same name as a " + std::string(*first) + " of this table",
                    source);
        };
        claim(t.primary_key_name, "primary key", t.source);
        for (const auto& u : t.uniques) claim(u.name, "unique constraint", u.source);
        for (const auto& fk : t.foreign_keys) claim(fk.name, "foreign key", fk.source);
        for (const auto& ch : t.checks) claim(ch.name, "check", ch.source);
    }

    // Operator classes and storage parameters (ABI 1.3), and pgvector's limits on what its
    // similarity indexes can hold, which the server would otherwise report only while building.
    template <class What>
    void check_index_options(const model::Plugin& p, const model::Table& t, const model::Index& idx,
                             const What& what) {
        for (std::size_t k = 0; k < idx.opclasses.size(); ++k)
            if (!idx.opclasses[k].empty())
                if (auto bad = check_identifier(idx.opclasses[k]))
                    add(p, t.name, what(), "operator class " + quoted(idx.opclasses[k]) + " " + *bad, idx.source);
        std::set<std::string> option_names;
        for (const auto& [name, value] : idx.options) {
            if (auto bad = check_identifier(name)) add(p, t.name, what(), "option " + quoted(name) + " " + *bad, idx.source);
            else if (!option_names.insert(name).second) add(p, t.name, what(), "option " + quoted(name) + " is given twice", idx.source);
            const bool plain = !value.empty() && std::all_of(value.begin(), value.end(), [](char c) {
                return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-' || c == '+';
            });
            if (!plain)
                add(p, t.name, what(), "option " + quoted(name) + " has value " + quoted(value) +
                    "; a value is a number or a word (letters, digits, _ . + -)", idx.source);
        }
        const bool hnsw = idx.method == "hnsw", ivfflat = idx.method == "ivfflat";
        if (!hnsw && !ivfflat) return;
        const std::set<std::string> known = hnsw ? std::set<std::string>{"ef_construction", "m"} : std::set<std::string>{"lists"};
        for (const auto& [name, value] : idx.options)
            if (!known.count(name))
                add(p, t.name, what(), idx.method + " has no option " + quoted(name) + "; it takes " +
                    join(std::vector<std::string>(known.begin(), known.end()), ", "), idx.source);
        for (std::size_t k = 0; k < idx.keys.size(); ++k) {
            const std::string& key = idx.keys[k];
            const auto type = key_vector_type(t, key);
            if (!type) continue;
            const std::string& opclass = idx.opclass(k);
            if (!opclass.empty() && opclass.rfind(type->base + "_", 0) != 0)
                add(p, t.name, what(), "operator class " + quoted(opclass) + " does not index " + type->base + " (key " +
                    quoted(key) + "); use a " + type->base + "_*_ops class", idx.source);
            if (type->base == "sparsevec") {
                if (ivfflat)
                    add(p, t.name, what(), "ivfflat cannot index sparsevec (key " + quoted(key) + "); use hnsw", idx.source);
                continue;  // hnsw limits a sparsevec's non-zero elements (1000), which only its rows show
            }
            const int limit = type->base == "vector" ? 2000 : type->base == "halfvec" ? 4000 : 64000;
            if (type->dimensions <= limit) continue;
            std::string message = idx.method + " indexes " + type->base + " of at most " + std::to_string(limit) +
                                  " dimensions, and key " + quoted(key) + " is " + type->base + "(" +
                                  std::to_string(type->dimensions) + ")";
            if (type->base == "vector" && type->dimensions <= 4000 && !model::is_expression_key(key)) {
                const std::string suffix = opclass.empty() ? "l2_ops" : opclass.substr(std::string("vector_").size());
                const std::string cast = "(" + key + "::halfvec(" + std::to_string(type->dimensions) + "))";
                message += "; index it as halfvec (up to 4000 dimensions) with an expression key: (" + cast + " halfvec_" +
                           suffix + "), in C++ plinth::index({\"" + cast + "\"}).named(\"...\")." + idx.method +
                           "(\"halfvec_" + suffix + "\")";
            }
            add(p, t.name, what(), message, idx.source);
        }
    }

    // The pgvector type of an index key: a column's, or the cast an expression key ends with,
    // "(embedding::halfvec(3072))".
    static std::optional<model::VectorType> key_vector_type(const model::Table& t, const std::string& key) {
        if (!model::is_expression_key(key)) {
            const auto* column = t.find_column(key);
            return column ? model::vector_type(model::canonical_type(column->type)) : std::nullopt;
        }
        static const std::regex cast(R"(::\s*([a-z]+\s*\(\s*[0-9]+\s*\))\s*\)*\s*$)", std::regex::icase);
        // Only the key's end can hold the cast; std::regex recurses per character, so a key of a
        // megabyte (the loader allows it) must not reach it whole.
        const std::string tail = key.size() > 256 ? key.substr(key.size() - 256) : key;
        std::smatch m;
        if (!std::regex_search(tail, m, cast)) return std::nullopt;
        return model::vector_type(model::canonical_type(m[1].str()));
    }

    std::vector<Problem>& problems_;
};

struct TableOwner {
    const model::Plugin* plugin;
    const model::Table* table;
};

// What claims a relation name in a schema (a table, or the index behind a key, a unique constraint
// or an index), spelled out only when a second claim on the name is reported.
struct RelationClaim {
    const char* kind;         // "table", "primary key", "unique constraint", "index"
    const std::string* name;  // quoted after the kind; nullptr for the table itself
    const model::Table* table;
    const model::Plugin* plugin;

    std::string what() const { return name ? kind + (" " + quoted(*name)) : std::string(kind); }
    std::string owner() const {
        return what() + " of table " + table->qualified_name() + " (plugin " + quoted(plugin->name) + ")";
    }
};

bool same_columns(const std::vector<std::string>& a_in, const std::vector<std::string>& b_in) {
    if (a_in == b_in) return true;  // the usual case, a key referenced as declared: no copies
    std::vector<std::string> a = a_in, b = b_in;
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    return a == b;
}

// A plugin on a require cycle can be initialised neither before nor after the others on it: the
// cycle is named, shortest first, from this plugin back to itself.
void check_require_cycle(const model::Plugin& p, const std::map<std::string, const model::Plugin*>& by_name,
                         Checker& checker) {
    std::map<std::string, std::string> reached_from;  // breadth first, so the path found is a shortest one
    std::vector<std::string> queue{p.name};
    for (std::size_t next = 0; next < queue.size(); ++next) {
        const auto found = by_name.find(queue[next]);
        if (found == by_name.end()) continue;
        for (const auto& r : found->second->requires_plugins) {
            if (r == queue[next]) continue;  // requiring itself has its own message
            if (r == p.name) {
                std::vector<std::string> path{r};
                for (auto at = queue[next]; at != p.name; at = reached_from.at(at)) path.push_back(at);
                std::string message = "requires plugin " + quoted(path.back());
                for (auto it = path.rbegin() + 1; it != path.rend(); ++it) message += ", which requires " + quoted(*it);
                checker.add(p, "", "", message + ": plugins that require each other cannot be initialised one before the other",
                            std::nullopt);
                return;
            }
            if (reached_from.emplace(r, queue[next]).second) queue.push_back(r);
        }
    }
}

// Checks what only the whole set can tell: names shared across plugins, foreign key targets,
// required plugins.
void check_set(std::vector<model::Plugin>& plugins, std::vector<Problem>& problems) {
    Checker checker(problems);
    std::map<std::string, const model::Plugin*> by_name;
    std::map<std::string, TableOwner> tables;                    // "schema.table"
    std::unordered_map<std::string, RelationClaim> relations;    // "schema.name" -> what claims it first
    for (const auto& p : plugins) {
        if (auto [it, fresh] = by_name.emplace(p.name, &p); !fresh) {
            checker.add(p, "", "", "plugin name is also used by " + it->second->file, std::nullopt);
            continue;
        }
        for (const auto& t : p.tables) {
            const std::string key = t.qualified_name();
            if (auto [it, fresh] = tables.emplace(key, TableOwner{&p, &t}); !fresh) {
                checker.add(p, t.name, "", "table " + key + " is also declared by plugin " + quoted(it->second.plugin->name),
                            t.source);
                continue;
            }
            // Tables and indexes (primary keys and unique constraints are indexes) share one
            // namespace per schema.
            auto claim = [&](const std::string& name, const RelationClaim& mine, const Source& source) {
                std::string rel = t.schema;
                rel += '.';
                rel += name;
                if (auto [it, fresh] = relations.emplace(std::move(rel), mine); !fresh)
                    checker.add(p, t.name, mine.what(), "name " + quoted(name) + " is already taken in schema " + t.schema +
                                " by the " + it->second.owner(), source);
            };
            claim(t.name, {"table", nullptr, &t, &p}, t.source);
            if (!t.primary_key_name.empty()) claim(t.primary_key_name, {"primary key", &t.primary_key_name, &t, &p}, t.source);
            for (const auto& u : t.uniques) claim(u.name, {"unique constraint", &u.name, &t, &p}, u.source);
            for (const auto& idx : t.indexes) claim(idx.name, {"index", &idx.name, &t, &p}, idx.source);
        }
    }
    // Bare table names per schema, for suggestions: made on the first reference to a missing table.
    std::optional<std::map<std::string, std::vector<std::string>>> table_names_by_schema;
    const auto table_names_in = [&](const std::string& schema) -> const std::vector<std::string>& {
        if (!table_names_by_schema) {
            table_names_by_schema.emplace();
            for (const auto& [key, owner] : tables) (*table_names_by_schema)[owner.table->schema].push_back(owner.table->name);
        }
        return (*table_names_by_schema)[schema];
    };
    // Renamed tables, per schema: an old name is checked against every plugin's tables there.
    const bool any_renamed = std::any_of(tables.begin(), tables.end(), [](const auto& entry) {
        return entry.second.table->renamed_from.has_value();
    });
    std::map<std::string, std::vector<Renamable>> renamable_by_schema;
    std::map<std::pair<std::string, std::string>, TableOwner> renamable_owner;  // (schema, table)
    for (const auto& [key, owner] : tables) {
        if (!any_renamed) break;
        renamable_by_schema[owner.table->schema].push_back({owner.table->name, owner.table->renamed_from, owner.table->source});
        renamable_owner.emplace(std::pair{owner.table->schema, owner.table->name}, owner);
    }
    for (const auto& [schema, items] : renamable_by_schema)
        check_renames(items, "table", [&, schema = schema](const Renamable& t, std::string message) {
            const auto& owner = renamable_owner.at({schema, t.name});
            checker.add(*owner.plugin, t.name, "", std::move(message), t.source);
        });
    for (auto& p : plugins) {
        const auto other_plugins = [&] {
            std::vector<std::string> names;
            for (const auto& [name, plugin] : by_name)
                if (name != p.name) names.push_back(name);
            return names;
        };
        for (const auto& r : p.requires_plugins)
            if (!by_name.count(r))
                checker.add(p, "", "", "requires plugin " + quoted(r) + ", which is not loaded" + did_you_mean(r, other_plugins()),
                            std::nullopt);
        if (by_name.at(p.name) == &p) check_require_cycle(p, by_name, checker);
        for (auto& t : p.tables) {
            for (auto& fk : t.foreign_keys) {
                const auto what = [&] { return "foreign key " + quoted(fk.name); };
                const std::string target = fk.ref_schema + "." + fk.ref_table;
                auto found = tables.find(target);
                if (found == tables.end()) {
                    checker.add(p, t.name, what(), "references table " + target + ", which no plugin declares" +
                                did_you_mean(fk.ref_table, table_names_in(fk.ref_schema)), fk.source);
                    continue;
                }
                const auto& [owner, ref] = found->second;
                // Either side's require orders the pair. Two plugins whose tables reference each
                // other (a cycle, closed after both tables exist) need one require, not two: a
                // require cycle is refused, since neither could be initialised first.
                const auto requires_of = [](const model::Plugin& a, const std::string& b) {
                    return std::find(a.requires_plugins.begin(), a.requires_plugins.end(), b) != a.requires_plugins.end();
                };
                if (owner->name != p.name && !requires_of(p, owner->name) && !requires_of(*owner, p.name)) {
                    checker.add(p, t.name, what(), "references table " + target + " of plugin " + quoted(owner->name) +
                                ", which this plugin does not require: add requires_plugin(\"" + owner->name + "\")", fk.source);
                    continue;
                }
                if (fk.ref_columns.empty()) fk.ref_columns = ref->primary_key;
                bool columns_exist = true;
                for (const auto& c : fk.ref_columns) {
                    if (!ref->find_column(c)) {
                        checker.add(p, t.name, what(), "referenced column " + target + "." + c + " does not exist" +
                                    did_you_mean(c, columns_of(*ref)), fk.source);
                        columns_exist = false;
                    }
                }
                if (!columns_exist || fk.ref_columns.size() != fk.columns.size()) continue;
                bool keyed = same_columns(fk.ref_columns, ref->primary_key);
                for (const auto& u : ref->uniques) keyed = keyed || same_columns(fk.ref_columns, u.columns);
                if (!keyed)
                    checker.add(p, t.name, what(), "referenced columns (" + join(fk.ref_columns, ", ") + ") of " + target +
                                " are neither its primary key nor a unique constraint", fk.source);
                for (std::size_t i = 0; i < fk.columns.size(); ++i) {
                    const auto* mine = t.find_column(fk.columns[i]);
                    const auto* theirs = ref->find_column(fk.ref_columns[i]);
                    if (!mine || !theirs) continue;
                    if (mine->type == theirs->type) continue;  // one spelling, one type: no need to canonicalise
                    const auto a = model::canonical_type(mine->type), b = model::canonical_type(theirs->type);
                    if (model::base_type(a) != model::base_type(b))
                        checker.add(p, t.name, what(), "column " + quoted(mine->name) + " is " + a + " but referenced column " +
                                    target + "." + theirs->name + " is " + b, fk.source);
                }
            }
        }
    }
}

std::vector<std::string> table_names(const model::Plugin& p) {
    std::vector<std::string> names;
    for (const auto& t : p.tables) names.push_back(t.qualified_name());
    return names;
}

}  // namespace

ValidationResult validate(std::vector<model::Plugin> plugins) {
    ValidationResult result;
    // Deterministic whatever order the files came in: by name, then by file for duplicates.
    std::stable_sort(plugins.begin(), plugins.end(), [](const model::Plugin& a, const model::Plugin& b) {
        return a.name != b.name ? a.name < b.name : a.file < b.file;
    });
    Checker checker(result.problems);
    for (auto& p : plugins) checker.check_plugin(p);
    check_set(plugins, result.problems);
    std::stable_sort(result.problems.begin(), result.problems.end(), [](const Problem& a, const Problem& b) {
        return a.plugin != b.plugin ? a.plugin < b.plugin : a.file < b.file;
    });

    // Skip every plugin with a problem, then, until nothing changes, every plugin needing a skipped one.
    std::map<std::string, std::size_t> problem_count;  // by file: duplicate names must not share
    for (const auto& pr : result.problems) ++problem_count[pr.file];
    std::set<std::string> skipped_files, available;
    for (const auto& p : plugins) {
        if (auto n = problem_count[p.file]) {
            result.skipped.push_back({p.file, p.name, std::to_string(n) + (n == 1 ? " problem" : " problems") + " in its declaration",
                                      table_names(p)});
            skipped_files.insert(p.file);
        } else {
            available.insert(p.name);
        }
    }
    // A plugin needs those it requires, and those whose tables its foreign keys reference (one
    // that requires it, see check_set). With none skipped so far there is nothing to follow: every
    // plugin required or referenced is then loaded and valid, or the one needing it has a problem.
    const bool any_skipped = !skipped_files.empty();
    std::map<std::string, std::string> table_owner;  // "schema.table" -> plugin
    if (any_skipped)
        for (const auto& p : plugins)
            for (const auto& t : p.tables) table_owner.emplace(t.qualified_name(), p.name);
    const auto first_missing = [&](const model::Plugin& p) -> std::string {
        for (const auto& r : p.requires_plugins)
            if (!available.count(r)) return "requires plugin \"" + r + "\", which was skipped";
        for (const auto& t : p.tables)
            for (const auto& fk : t.foreign_keys)
                if (auto it = table_owner.find(fk.ref_schema + "." + fk.ref_table);
                    it != table_owner.end() && it->second != p.name && !available.count(it->second))
                    return "references table " + it->first + " of plugin \"" + it->second + "\", which was skipped";
        return {};
    };
    for (bool changed = any_skipped; changed;) {
        changed = false;
        for (const auto& p : plugins) {
            if (skipped_files.count(p.file)) continue;
            if (const auto reason = first_missing(p); !reason.empty()) {
                result.skipped.push_back({p.file, p.name, reason, table_names(p)});
                skipped_files.insert(p.file);
                available.erase(p.name);
                changed = true;
            }
        }
    }
    for (auto& p : plugins)
        if (!skipped_files.count(p.file)) result.plugins.push_back(std::move(p));
    return result;
}

}  // namespace plinth::validate
