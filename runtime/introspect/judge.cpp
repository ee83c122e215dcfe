#include "introspect/judge.hpp"

#include <algorithm>
#include <map>
#include <optional>

#include <libpq-fe.h>

#include "model/text.hpp"
#include "model/types.hpp"
#include "pg/pipeline.hpp"

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
            std::vector<Chunk> chunks;
            for (std::size_t plugin = 0; plugin < plugins_.size(); ++plugin) {
                const auto tables = plugins_[plugin].tables.size();
                for (std::size_t first = 0; first < tables; first += kJudgeTablesPerChunk)
                    chunks.push_back({plugin, first, std::min(tables, first + kJudgeTablesPerChunk)});
            }
            for (std::size_t next = 0; next < chunks.size();) next = judge_at_once(chunks, next);
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
        // Speculating (judge_at_once): the statement is only queued, taken as accepted.
        if (speculating_) {
            if (queue_) queue_->push_back(sql);
            return {};
        }
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
        const auto rows = read_shapes(connection_.exec_params(shapes_sql(), {"{" + model::join(oids, ",") + "}"}));
        return {rows.begin(), rows.end()};
    }

    // $1: the probe tables, by oid or by name (a regclass[] literal); their rows in that order.
    static const char* shapes_sql() {
        return
            "SELECT r.oid::oid::text, "
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
            "FROM unnest($1::regclass[]) WITH ORDINALITY AS r(oid, n) ORDER BY r.n";
    }

    // (oid, shape) in the order of the query's rows.
    static std::vector<std::pair<std::string, Shape>> read_shapes(const pg::Result& r) {
        std::vector<std::pair<std::string, Shape>> out;
        for (int row = 0; row < r.rows(); ++row) {
            auto text = [&](int column) { return r.is_null(row, column) ? std::string() : r.text(row, column); };
            out.emplace_back(r.text(row, 0), Shape{text(1), text(2), text(3), text(4), text(5)});
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

    // A plugin's tables, `first` to `last`, judged together.
    struct Chunk {
        std::size_t plugin, first, last;
    };

    // A chunk judged a statement at a time, to name what failed.
    void judge_slowly(const Chunk& chunk) {
        connection_.exec("SAVEPOINT plinth_judge_chunk");
        judge_tables(chunk.plugin, chunk.first, chunk.last);
        connection_.exec("ROLLBACK TO SAVEPOINT plinth_judge_chunk; RELEASE SAVEPOINT plinth_judge_chunk");
    }

    // The statements of one chunk judged at once, with where its shape queries are among them.
    struct Batch {
        std::size_t plugin = 0;
        std::vector<std::string> statements;
        std::size_t base_at = 0, after_at = 0;
        std::optional<std::string> names;  // the probe tables, a regclass[] literal
        std::vector<Probe> probes;
    };

    // Nearly always every fragment is accepted. So the chunks from `next` on go to the server in one
    // pipeline, one round trip, on that assumption: for each, its probe tables, their shapes, every
    // fragment, the shapes again, and the rollback to the chunk's savepoint (which frees its locks
    // before the next chunk's are taken, as judge_slowly does). A chunk whose shapes after are not
    // those its fragments declare is judged again slowly; so is the chunk where a statement failed
    // (the server skipped the rest of the pipeline). Returns the chunk to go on from.
    std::size_t judge_at_once(const std::vector<Chunk>& chunks, std::size_t next) {
        std::vector<Batch> batches;
        for (auto i = next; i < chunks.size(); ++i) batches.push_back(speculate(chunks[i]));
        std::vector<pg::PipelineResult> results;
        std::optional<pg::PipelineError> failure;
        {
            pg::Pipeline pipeline(connection_, pg::Pipeline::Timing::none);  // nothing here is timed
            for (const auto& batch : batches)
                for (std::size_t k = 0; k < batch.statements.size(); ++k) {
                    if (k == batch.base_at || k == batch.after_at)
                        pipeline.send(batch.statements[k], {batch.names});
                    else
                        pipeline.send(batch.statements[k]);
                }
            try {
                results = pipeline.sync();
            } catch (const pg::PipelineError& e) {
                if (e.is_connection_lost()) throw;
                failure = e;
                results = std::move(pipeline.completed());
            }
        }
        std::size_t offset = 0;
        for (std::size_t b = 0; b < batches.size(); ++b) {
            auto& batch = batches[b];
            if (failure && failure->index() < offset + batch.statements.size()) {
                // The chunk's own savepoint failing leaves nothing to roll back to: a failure of the
                // server, not of a fragment.
                if (failure->index() == offset) throw *failure;
                connection_.exec("ROLLBACK TO SAVEPOINT plinth_judge_chunk; RELEASE SAVEPOINT plinth_judge_chunk");
                judge_slowly(chunks[next + b]);
                return next + b + 1;
            }
            if (!declared_shapes(batch, results[offset + batch.base_at].result,
                                 results[offset + batch.after_at].result))
                judge_slowly(chunks[next + b]);
            offset += batch.statements.size();
        }
        return chunks.size();
    }

    // A chunk's statements, every one taken as accepted.
    Batch speculate(const Chunk& chunk) {
        Batch batch;
        batch.plugin = chunk.plugin;
        batch.statements.push_back("SAVEPOINT plinth_judge_chunk");
        speculating_ = true;
        queue_ = &batch.statements;
        std::vector<std::string> names;
        for (auto i = chunk.first; i < chunk.last; ++i) {
            batch.probes.push_back(create_probe(chunk.plugin, plugins_[chunk.plugin].tables[i]));
            names.push_back(batch.probes.back().name);
        }
        batch.base_at = batch.statements.size();
        batch.statements.push_back(shapes_sql());
        batch.statements.push_back("SAVEPOINT plinth_judge_fragments");
        for (auto p : batch.probes) judge_fragments(chunk.plugin, p, false);
        batch.after_at = batch.statements.size();
        batch.statements.push_back(shapes_sql());
        batch.statements.push_back("ROLLBACK TO SAVEPOINT plinth_judge_chunk");
        batch.statements.push_back("RELEASE SAVEPOINT plinth_judge_chunk");
        speculating_ = false;
        queue_ = nullptr;
        batch.names = "{" + model::join(names, ",") + "}";
        return batch;
    }

    // Whether the shapes after a chunk's fragments are those they declare, from the shapes before
    // them: the bookkeeping of judge_tables, every fragment taken as accepted (none is sent again).
    bool declared_shapes(Batch& batch, const pg::Result& before, const pg::Result& after_result) {
        const auto base = read_shapes(before);
        const auto after = read_shapes(after_result);
        if (base.size() != batch.probes.size() || after.size() != batch.probes.size()) return false;
        speculating_ = true;
        bool same = true;
        for (std::size_t i = 0; same && i < batch.probes.size(); ++i) {
            auto& probe = batch.probes[i];
            probe.shape = base[i].second;
            judge_fragments(batch.plugin, probe, false);
            same = probe.shape == after[i].second;
        }
        speculating_ = false;
        return same;
    }

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
        if (!speculating_) probe.oid = connection_.exec_params("SELECT $1::regclass::oid", {probe.name}).text(0, 0);
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
    bool speculating_ = false;                  // attempt() takes every statement as accepted
    std::vector<std::string>* queue_ = nullptr;  // and, when set, queues it here
};

}  // namespace

std::vector<Rejection> judge_declared_sql(pg::Connection& connection, const std::vector<model::Plugin>& plugins) {
    return Judge(connection, plugins).run();
}

}  // namespace plinth::introspect
