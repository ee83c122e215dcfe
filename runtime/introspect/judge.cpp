#include "introspect/judge.hpp"

#include <algorithm>
#include <map>
#include <optional>

#include <libpq-fe.h>

#include "model/text.hpp"
#include "model/types.hpp"

namespace plinth::introspect {
namespace {

// What the probe table holds: columns, defaults, constraints, indexes. A fragment must change it by
// exactly what it declares.
struct Shape {
    std::string columns, defaults, constraints, indexes, table;
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
            for (std::size_t i = 0; i < plugins_.size(); ++i) judge_plugin(i);
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
            vector_ = attempt("CREATE EXTENSION IF NOT EXISTS vector SCHEMA public").empty();
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

    // Runs one statement in a savepoint of its own; when `verify` names a probe table, the effect is
    // kept only if that table then has the shape `expected`. The server's error or the mismatch,
    // else empty.
    std::string attempt(const std::string& sql, const std::string& verify = {}, const Shape& expected = {}) {
        connection_.exec("SAVEPOINT plinth_judge_step");
        try {
            connection_.exec_params(sql, {});
        } catch (const pg::Error& e) {
            if (e.is_connection_lost()) throw;
            connection_.exec("ROLLBACK TO SAVEPOINT plinth_judge_step");
            return "rejected by the server: ERROR " + e.sqlstate() + ": " + e.message();
        }
        if (!verify.empty() && shapes({verify}).at(verify) != expected) {
            connection_.exec("ROLLBACK TO SAVEPOINT plinth_judge_step");
            return "is not one expression: it changes more than what it declares";
        }
        connection_.exec("RELEASE SAVEPOINT plinth_judge_step");
        return {};
    }

    // The shapes of probe tables (by oid), in one query: planning a catalog query costs more than
    // running it, and DDL in between keeps the plan from being cached.
    std::map<std::string, Shape> shapes(const std::vector<std::string>& oids) {
        auto r = connection_.exec_params(
            "SELECT r.oid::text, "
            "(SELECT string_agg(concat_ws(' ', attname, format_type(atttypid, atttypmod), attnotnull, attidentity, "
            " attgenerated, attstattarget, attstorage, attcompression, attcollation, attoptions), ', ' ORDER BY attnum) "
            " FROM pg_catalog.pg_attribute WHERE attrelid = r.oid AND attnum > 0 AND NOT attisdropped), "
            "(SELECT string_agg(a.attname, ', ' ORDER BY a.attnum) FROM pg_catalog.pg_attrdef d "
            " JOIN pg_catalog.pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum WHERE d.adrelid = r.oid), "
            "(SELECT string_agg(conname || ' ' || contype::text || ' ' || convalidated || ' ' || connoinherit, ', ' "
            " ORDER BY conname COLLATE \"C\") FROM pg_catalog.pg_constraint WHERE conrelid = r.oid), "
            "(SELECT string_agg(c.relname || ' ' || am.amname || ' ' || ix.indisunique || ' ' || ix.indnatts || ' ' || "
            " ix.indnkeyatts || ' ' || (ix.indpred IS NOT NULL) || ' ' || (c.reloptions IS NOT NULL) || ' ' || "
            " (c.reltablespace <> 0) || ' ' || ix.indisclustered || ' ' || ix.indisreplident, ', ' "
            " ORDER BY c.relname COLLATE \"C\") "
            " FROM pg_catalog.pg_index ix JOIN pg_catalog.pg_class c ON c.oid = ix.indexrelid "
            " JOIN pg_catalog.pg_am am ON am.oid = c.relam WHERE ix.indrelid = r.oid), "
            // The table itself: whatever else an ALTER TABLE could change about it.
            "(SELECT concat_ws(' ', relowner, relam, reltablespace, reloftype, relrowsecurity, relforcerowsecurity, "
            " relreplident, reloptions, (SELECT count(*) FROM pg_catalog.pg_inherits WHERE inhrelid = r.oid)) "
            " FROM pg_catalog.pg_class WHERE oid = r.oid) "
            "FROM unnest($1::oid[]) AS r(oid)",
            {"{" + model::join(oids, ",") + "}"});
        std::map<std::string, Shape> out;
        for (int row = 0; row < r.rows(); ++row) {
            auto text = [&](int column) { return r.is_null(row, column) ? std::string() : r.text(row, column); };
            out[r.text(row, 0)] = {text(1), text(2), text(3), text(4), text(5)};
        }
        return out;
    }

    // A table of a plugin on its probe copy: the columns the server accepted.
    struct Probe {
        const model::Table* table;
        std::string name, oid;
        std::vector<std::string> columns;
        Shape shape;  // what it has, then what it should have
    };

    void reject(std::size_t plugin, const model::Table& t, std::string item, std::string message,
                const std::optional<model::SourceLocation>& source) {
        rejections_.push_back({plugin, t.name, std::move(item), std::move(message), source ? source->text() : ""});
    }

    void judge_plugin(std::size_t plugin) {
        const auto& tables = plugins_[plugin].tables;
        for (std::size_t first = 0; first < tables.size(); first += kTablesPerChunk) {
            connection_.exec("SAVEPOINT plinth_judge_chunk");
            judge_tables(plugin, first, std::min(tables.size(), first + kTablesPerChunk));
            connection_.exec("ROLLBACK TO SAVEPOINT plinth_judge_chunk; RELEASE SAVEPOINT plinth_judge_chunk");
        }
    }

    // A chunk's probe tables are dropped (their savepoint rolled back, which frees their locks) before
    // the next chunk's are made: the judge holds a few hundred lock-table entries at most, whatever
    // the schema's size, and so never needs more of them than the migration itself.
    static constexpr std::size_t kTablesPerChunk = 32;

    // All tables of the chunk get their columns first. Then every fragment is tried, and the probe
    // tables are compared, in one query, with what the accepted fragments declare. Only when they
    // differ (a fragment did more than it declares) is every fragment tried again, each checked on
    // its own, to name the culprit.
    void judge_tables(std::size_t plugin, std::size_t first, std::size_t last) {
        std::vector<Probe> probes;
        for (std::size_t i = first; i < last; ++i) probes.push_back(create_probe(plugin, plugins_[plugin].tables[i]));
        std::vector<std::string> oids;
        for (const auto& p : probes) oids.push_back(p.oid);
        const auto base = shapes(oids);
        for (auto& p : probes) p.shape = base.at(p.oid);
        connection_.exec("SAVEPOINT plinth_judge_fragments");
        const auto mark = rejections_.size();
        auto expected = probes;
        for (auto& p : expected) judge_fragments(plugin, p, false);
        const auto after = shapes(oids);
        bool same = true;
        for (const auto& p : expected) same = same && after.at(p.oid) == p.shape;
        if (!same) {
            rejections_.resize(mark);
            connection_.exec("ROLLBACK TO SAVEPOINT plinth_judge_fragments");
            for (auto& p : probes) judge_fragments(plugin, p, true);
        }
        connection_.exec("RELEASE SAVEPOINT plinth_judge_fragments");
    }

    Probe create_probe(std::size_t plugin, const model::Table& t) {
        Probe probe{&t, "pg_temp.plinth_judge_" + std::to_string(tables_++), {}, {}, {}};
        // All columns at once, which is what passes nearly always; when the server rejects that,
        // each column on its own, so that a rejected type names its column.
        std::vector<std::string> definitions;
        for (const auto& c : t.columns) definitions.push_back(model::quote_ident(c.name) + " " + type_of(c));
        const bool together =
            attempt("CREATE TEMPORARY TABLE " + probe.name + " (" + model::join(definitions, ", ") + ")").empty();
        if (!together) connection_.exec("CREATE TEMPORARY TABLE " + probe.name + " ()");
        for (const auto& c : t.columns) {
            if (together) {
                probe.columns.push_back(c.name);
                continue;
            }
            const auto error =
                attempt("ALTER TABLE " + probe.name + " ADD COLUMN " + model::quote_ident(c.name) + " " + type_of(c));
            if (error.empty())
                probe.columns.push_back(c.name);
            else
                reject(plugin, t, "column \"" + c.name + "\"", "type " + model::canonical_type(c.type) + " " + error,
                       c.source);
        }
        probe.oid = connection_.exec_params("SELECT $1::regclass::oid", {probe.name}).text(0, 0);
        return probe;
    }

    // One fragment: an accepted one turns the probe's shape into `expected`.
    void judge(std::size_t plugin, Probe& probe, bool verify, const std::string& item, const std::string& what,
               const std::string& sql, const Shape& expected, const std::optional<model::SourceLocation>& source) {
        const auto error = attempt(sql, verify ? probe.oid : std::string(), expected);
        if (error.empty())
            probe.shape = expected;
        else
            reject(plugin, *probe.table, item, what + " " + error, source);
    }

    void judge_fragments(std::size_t plugin, Probe& probe, bool verify) {
        const auto& t = *probe.table;
        const auto& columns = probe.columns;
        const auto has_column = [&](const std::string& name) {
            return std::find(columns.begin(), columns.end(), name) != columns.end();
        };
        std::vector<std::string> with_default;
        for (const auto& c : t.columns) {
            if (!c.default_sql || !has_column(c.name)) continue;
            Shape expected = probe.shape;
            std::vector<std::string> defaults;
            for (const auto& name : columns)
                if (name == c.name || std::find(with_default.begin(), with_default.end(), name) != with_default.end())
                    defaults.push_back(name);
            expected.defaults = model::join(defaults, ", ");
            judge(plugin, probe, verify, "column \"" + c.name + "\"", "default",
                  "ALTER TABLE " + probe.name + " ALTER COLUMN " + model::quote_ident(c.name) + " SET DEFAULT (" +
                      *c.default_sql + ")",
                  expected, c.source);
            if (probe.shape == expected) with_default.push_back(c.name);
        }
        // A backfill as apply runs it: the right side of an UPDATE of the column, in its own
        // parentheses; on the empty probe it updates nothing, but the server parses it, resolves
        // its names and checks that it can be assigned to the column.
        for (const auto& c : t.columns) {
            if (!c.backfill || !has_column(c.name)) continue;
            judge(plugin, probe, verify, "column \"" + c.name + "\"", "backfill",
                  "UPDATE " + probe.name + " SET " + model::quote_ident(c.name) + " = (" + *c.backfill + ")",
                  probe.shape, c.source);
        }
        const std::string prefix = probe.name.substr(std::string("pg_temp.").size());
        for (std::size_t k = 0; k < t.checks.size(); ++k) {
            const auto& ch = t.checks[k];
            const std::string name = prefix + "_c" + std::to_string(k);
            Shape expected = probe.shape;
            expected.constraints = sorted_append(probe.shape.constraints, name + " c true false");
            judge(plugin, probe, verify, "check \"" + ch.name + "\"", "check expression",
                  "ALTER TABLE " + probe.name + " ADD CONSTRAINT " + name + " CHECK (" + ch.expression + ")", expected,
                  ch.source);
        }
        for (std::size_t k = 0; k < t.indexes.size(); ++k) {
            const auto& idx = t.indexes[k];
            bool columns_there = true;
            for (const auto& key : idx.keys)
                if (!model::is_expression_key(key) && !has_column(key)) columns_there = false;
            if (!columns_there) continue;  // a key column's type was rejected: already reported
            // Without pgvector the planner leaves similarity indexes out (plan/adapt), so they are not judged.
            if (!vector_ && model::similarity_method(idx.method)) continue;
            const std::string name = prefix + "_i" + std::to_string(k);
            const auto n = std::to_string(idx.keys.size());
            Shape expected = probe.shape;
            expected.indexes = sorted_append(probe.shape.indexes, name + " " + idx.method + " " +
                                                                      (idx.unique ? "true" : "false") + " " + n + " " + n +
                                                                      " " + (idx.predicate ? "true" : "false") + " " +
                                                                      (idx.options.empty() ? "false" : "true") +
                                                                      " false false false");
            // The index as the migration writes it (operator classes and option names were checked
            // as identifiers, option values as numbers).
            judge(plugin, probe, verify, "index \"" + idx.name + "\"", "index",
                  std::string("CREATE ") + (idx.unique ? "UNIQUE " : "") + "INDEX " + name + " ON " + probe.name + " " +
                      model::index_tail(idx),
                  expected, idx.source);
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
    std::size_t tables_ = 0;
    bool vector_ = false;
};

}  // namespace

std::vector<Rejection> judge_declared_sql(pg::Connection& connection, const std::vector<model::Plugin>& plugins) {
    return Judge(connection, plugins).run();
}

}  // namespace plinth::introspect
