#include "introspect/judge.hpp"

#include <algorithm>
#include <optional>

#include <libpq-fe.h>

#include "model/text.hpp"
#include "model/types.hpp"

namespace plinth::introspect {
namespace {

// What the probe table holds: columns, defaults, constraints, indexes. A fragment must change it by
// exactly what it declares.
struct Shape {
    std::string columns, defaults, constraints, indexes;
    bool operator==(const Shape&) const = default;
};

class Judge {
public:
    Judge(pg::Connection& connection, const std::vector<model::Plugin>& plugins)
        : connection_(connection), plugins_(plugins) {}

    std::vector<Rejection> run() {
        const bool in_transaction = PQtransactionStatus(connection_.native()) == PQTRANS_INTRANS;
        connection_.exec(in_transaction ? "SAVEPOINT plinth_judge" : "BEGIN");
        try {
            prepare_vector();
            for (std::size_t i = 0; i < plugins_.size(); ++i)
                for (const auto& t : plugins_[i].tables) judge_table(i, t);
        } catch (...) {
            connection_.exec(in_transaction ? "ROLLBACK TO SAVEPOINT plinth_judge" : "ROLLBACK");
            throw;
        }
        connection_.exec(in_transaction ? "ROLLBACK TO SAVEPOINT plinth_judge" : "ROLLBACK");
        return std::move(rejections_);
    }

private:
    // Vector columns: the extension as the migration would create it, else the planner's real[].
    void prepare_vector() {
        auto r = connection_.exec(
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'vector'), "
            "EXISTS (SELECT 1 FROM pg_catalog.pg_available_extensions WHERE name = 'vector')");
        vector_ = r.text(0, 0) == "t";
        if (!vector_ && r.text(0, 1) == "t" && uses_vector()) {
            vector_ = attempt("CREATE EXTENSION IF NOT EXISTS vector").empty();
        }
    }

    bool uses_vector() const {
        for (const auto& p : plugins_)
            for (const auto& t : p.tables)
                for (const auto& c : t.columns)
                    if (model::vector_dimensions(model::canonical_type(c.type))) return true;
        return false;
    }

    std::string type_of(const model::Column& c) const {
        const auto type = model::canonical_type(c.type);
        return model::vector_dimensions(type) && !vector_ ? "real[]" : type;
    }

    // Runs one statement in a savepoint of its own and keeps its effect only when the probe table
    // then has the shape `expected` (when given); the server's error or the mismatch, else empty.
    std::string attempt(const std::string& sql, const std::optional<Shape>& expected = std::nullopt) {
        connection_.exec("SAVEPOINT plinth_judge_step");
        try {
            connection_.exec_params(sql, {});
        } catch (const pg::Error& e) {
            if (e.is_connection_lost()) throw;
            connection_.exec("ROLLBACK TO SAVEPOINT plinth_judge_step");
            return "rejected by the server: ERROR " + e.sqlstate() + ": " + e.message();
        }
        if (expected && shape() != *expected) {
            connection_.exec("ROLLBACK TO SAVEPOINT plinth_judge_step");
            return "is not one expression: it changes more than what it declares";
        }
        connection_.exec("RELEASE SAVEPOINT plinth_judge_step");
        return {};
    }

    Shape shape() {
        auto r = connection_.exec_params(
            "SELECT "
            "(SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attnum) "
            " FROM pg_catalog.pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped), "
            "(SELECT string_agg(a.attname, ', ' ORDER BY a.attnum) FROM pg_catalog.pg_attrdef d "
            " JOIN pg_catalog.pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum WHERE d.adrelid = $1::regclass), "
            "(SELECT string_agg(conname || ' ' || contype::text || ' ' || convalidated || ' ' || connoinherit, ', ' "
            " ORDER BY conname COLLATE \"C\") FROM pg_catalog.pg_constraint WHERE conrelid = $1::regclass), "
            "(SELECT string_agg(c.relname || ' ' || am.amname || ' ' || ix.indisunique || ' ' || ix.indnatts || ' ' || "
            " ix.indnkeyatts || ' ' || (ix.indpred IS NOT NULL) || ' ' || (c.reloptions IS NOT NULL) || ' ' || "
            " (c.reltablespace <> 0), ', ' ORDER BY c.relname COLLATE \"C\") "
            " FROM pg_catalog.pg_index ix JOIN pg_catalog.pg_class c ON c.oid = ix.indexrelid "
            " JOIN pg_catalog.pg_am am ON am.oid = c.relam WHERE ix.indrelid = $1::regclass)",
            {probe_});
        auto text = [&](int column) { return r.is_null(0, column) ? std::string() : r.text(0, column); };
        return {text(0), text(1), text(2), text(3)};
    }

    // One fragment: its statement must succeed and change the probe table from `base` into
    // `expected`, which becomes the new base.
    void judge(std::size_t plugin, const model::Table& t, const std::string& item, const std::string& what,
               const std::string& sql, Shape& base, const Shape& expected,
               const std::optional<model::SourceLocation>& source) {
        const auto error = attempt(sql, expected);
        if (error.empty())
            base = expected;
        else
            rejections_.push_back({plugin, t.name, item, what + " " + error, source ? source->text() : ""});
    }

    void judge_table(std::size_t plugin, const model::Table& t) {
        probe_ = "pg_temp.plinth_judge_" + std::to_string(tables_++);
        const std::string table = probe_;
        // All columns at once, which is what passes nearly always; when the server rejects that,
        // each column on its own, so that a rejected type names its column.
        std::vector<std::string> columns, definitions;
        for (const auto& c : t.columns) definitions.push_back(model::quote_ident(c.name) + " " + type_of(c));
        const bool together = attempt("CREATE TEMPORARY TABLE " + table + " (" + model::join(definitions, ", ") + ")").empty();
        if (!together) connection_.exec("CREATE TEMPORARY TABLE " + table + " ()");
        for (const auto& c : t.columns) {
            if (together) {
                columns.push_back(c.name);
                continue;
            }
            const auto error = attempt("ALTER TABLE " + table + " ADD COLUMN " + model::quote_ident(c.name) + " " + type_of(c));
            if (error.empty())
                columns.push_back(c.name);
            else
                rejections_.push_back({plugin, t.name, "column \"" + c.name + "\"",
                                       "type " + model::canonical_type(c.type) + " " + error,
                                       c.source ? c.source->text() : ""});
        }
        const auto has_column = [&](const std::string& name) {
            return std::find(columns.begin(), columns.end(), name) != columns.end();
        };
        Shape base = shape();
        std::vector<std::string> with_default;
        for (const auto& c : t.columns) {
            if (!c.default_sql || !has_column(c.name)) continue;
            Shape expected = base;
            std::vector<std::string> defaults;
            for (const auto& name : columns)
                if (name == c.name || std::find(with_default.begin(), with_default.end(), name) != with_default.end())
                    defaults.push_back(name);
            expected.defaults = model::join(defaults, ", ");
            const auto before = base;
            judge(plugin, t, "column \"" + c.name + "\"", "default",
                  "ALTER TABLE " + table + " ALTER COLUMN " + model::quote_ident(c.name) + " SET DEFAULT (" +
                      *c.default_sql + ")",
                  base, expected, c.source);
            if (!(base == before)) with_default.push_back(c.name);
        }
        for (std::size_t k = 0; k < t.checks.size(); ++k) {
            const auto& ch = t.checks[k];
            const std::string name = "plinth_judge_" + std::to_string(tables_) + "_c" + std::to_string(k);
            Shape expected = base;
            expected.constraints = sorted_append(base.constraints, name + " c true false");
            judge(plugin, t, "check \"" + ch.name + "\"", "check expression",
                  "ALTER TABLE " + table + " ADD CONSTRAINT " + name + " CHECK (" + ch.expression + ")", base, expected,
                  ch.source);
        }
        for (std::size_t k = 0; k < t.indexes.size(); ++k) {
            const auto& idx = t.indexes[k];
            bool columns_there = true;
            for (const auto& key : idx.keys)
                if (!model::is_expression_key(key) && !has_column(key)) columns_there = false;
            if (!columns_there) continue;  // a key column's type was rejected: already reported
            const std::string name = "plinth_judge_" + std::to_string(tables_) + "_i" + std::to_string(k);
            std::vector<std::string> keys;
            for (const auto& key : idx.keys)
                keys.push_back(model::is_expression_key(key) ? "(" + key + ")" : model::quote_ident(key));
            const auto n = std::to_string(idx.keys.size());
            Shape expected = base;
            expected.indexes = sorted_append(base.indexes, name + " " + idx.method + " " + (idx.unique ? "true" : "false") +
                                                               " " + n + " " + n + " " + (idx.predicate ? "true" : "false") +
                                                               " false false");
            judge(plugin, t, "index \"" + idx.name + "\"", "index",
                  std::string("CREATE ") + (idx.unique ? "UNIQUE " : "") + "INDEX " + name + " ON " + table + " USING " +
                      idx.method + " (" + model::join(keys, ", ") + ")" +
                      (idx.predicate ? " WHERE (" + *idx.predicate + ")" : ""),
                  base, expected, idx.source);
        }
    }

    static std::vector<std::string> split(const std::string& list) {
        std::vector<std::string> parts;
        std::size_t start = 0;
        while (!list.empty() && start <= list.size()) {
            auto end = list.find(", ", start);
            if (end == std::string::npos) end = list.size();
            parts.push_back(list.substr(start, end - start));
            start = end + 2;
        }
        return parts;
    }

    // Entries ordered as the server's ORDER BY name would (the probe's names are plain ASCII).
    static std::string sorted_append(const std::string& list, const std::string& entry) {
        auto parts = split(list);
        parts.push_back(entry);
        std::sort(parts.begin(), parts.end());
        return model::join(parts, ", ");
    }

    pg::Connection& connection_;
    const std::vector<model::Plugin>& plugins_;
    std::vector<Rejection> rejections_;
    std::string probe_;
    std::size_t tables_ = 0;
    bool vector_ = false;
};

}  // namespace

std::vector<Rejection> judge_declared_sql(pg::Connection& connection, const std::vector<model::Plugin>& plugins) {
    return Judge(connection, plugins).run();
}

}  // namespace plinth::introspect
