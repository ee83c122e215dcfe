#include "introspect/catalog.hpp"

#include "pg/pipeline.hpp"

#include <algorithm>
#include <stdexcept>
#include <unordered_map>
#include <utility>

namespace plinth::introspect {

std::string text_array(const std::vector<std::string>& items) {
    std::string out = "{";
    for (std::size_t i = 0; i < items.size(); ++i) {
        out += i ? ",\"" : "\"";
        for (char c : items[i]) {
            if (c == '"' || c == '\\') out += '\\';
            out += c;
        }
        out += '"';
    }
    return out + "}";
}

std::vector<std::string> conflicting_modes(const std::string& mode) {
    // The conflict table of "Table-Level Lock Modes" in the PostgreSQL manual, for the modes plinth takes.
    if (mode == "ACCESS SHARE") return {"AccessExclusiveLock"};
    if (mode == "SHARE")
        return {"RowExclusiveLock", "ShareUpdateExclusiveLock", "ShareRowExclusiveLock", "ExclusiveLock",
                "AccessExclusiveLock"};
    if (mode == "SHARE ROW EXCLUSIVE")
        return {"RowExclusiveLock", "ShareUpdateExclusiveLock", "ShareLock", "ShareRowExclusiveLock", "ExclusiveLock",
                "AccessExclusiveLock"};
    return {"AccessShareLock", "RowShareLock", "RowExclusiveLock", "ShareUpdateExclusiveLock", "ShareLock",
            "ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock"};
}

std::vector<std::string> lock_holders(pg::Connection& connection, const std::vector<std::string>& tables,
                                      const std::vector<std::string>& schemas, const std::vector<std::string>& modes) {
    const auto r = connection.exec_params(
        "SELECT n.nspname || '.' || c.relname, l.pid, l.mode, coalesce(a.application_name, ''), "
        "coalesce(a.state, 'unknown state'), coalesce(to_char(a.query_start, 'YYYY-MM-DD HH24:MI:SS TZ'), '?'), "
        "coalesce(left(regexp_replace(a.query, '\\s+', ' ', 'g'), 80), '') "
        "FROM pg_locks l JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace "
        "LEFT JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'relation' AND l.granted AND l.pid <> pg_backend_pid() "
        "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        "AND l.mode = ANY($3::text[]) "
        "AND CASE WHEN cardinality($1::text[]) > 0 THEN n.nspname || '.' || c.relname = ANY($1::text[]) "
        "ELSE n.nspname = ANY($2::text[]) AND c.relkind IN ('r', 'p') END "
        "ORDER BY 1, 2, 3",
        {text_array(tables), text_array(schemas), text_array(modes)});
    std::vector<std::string> out;
    for (int i = 0; i < r.rows(); ++i)
        out.push_back(r.text(i, 0) + " is locked by pid " + r.text(i, 1) + " (" + r.text(i, 2) + "; application \"" +
                      r.text(i, 3) + "\", " + r.text(i, 4) + ", query started " + r.text(i, 5) + "): " + r.text(i, 6));
    return out;
}

std::vector<std::string> parse_text_array(std::string_view text) {
    if (text.size() < 2 || text.front() != '{' || text.back() != '}')
        throw std::runtime_error("unexpected array text from the catalog: " + std::string(text));
    std::vector<std::string> out;
    text = text.substr(1, text.size() - 2);
    std::size_t i = 0;
    while (i < text.size()) {
        std::string item;
        if (text[i] == '"') {
            for (++i; i < text.size() && text[i] != '"'; ++i) {
                if (text[i] == '\\' && i + 1 < text.size()) ++i;
                item += text[i];
            }
            ++i;  // closing quote
        } else {
            while (i < text.size() && text[i] != ',') item += text[i++];
        }
        out.push_back(std::move(item));
        if (i < text.size() && text[i] == ',') ++i;
    }
    return out;
}

namespace {

constexpr const char* kColumnsQuery = R"SQL(
SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid)
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
WHERE n.nspname = ANY($1::text[]) AND c.relkind IN ('r', 'p') AND n.nspname || '.' || c.relname <> ALL($2::text[])
ORDER BY n.nspname, c.relname, a.attnum)SQL";

constexpr const char* kConstraintsQuery = R"SQL(
SELECT n.nspname, c.relname, con.conname, con.contype, con.convalidated,
       ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(num, ord)
             JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num ORDER BY k.ord)::text[],
       fn.nspname, fc.relname,
       ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(num, ord)
             JOIN pg_catalog.pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.num ORDER BY k.ord)::text[],
       con.confdeltype, con.confupdtype, pg_get_constraintdef(con.oid)
FROM pg_catalog.pg_constraint con
JOIN pg_catalog.pg_class c ON c.oid = con.conrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_class fc ON fc.oid = con.confrelid
LEFT JOIN pg_catalog.pg_namespace fn ON fn.oid = fc.relnamespace
WHERE n.nspname = ANY($1::text[]) AND con.contype IN ('p', 'u', 'f', 'c')
  AND n.nspname || '.' || c.relname <> ALL($2::text[])
ORDER BY 1, 2, 3)SQL";

constexpr const char* kIndexesQuery = R"SQL(
SELECT n.nspname, t.relname, i.relname, ix.indisunique, ix.indisvalid, am.amname,
       ARRAY(SELECT pg_get_indexdef(ix.indexrelid, k, true) FROM generate_series(1, ix.indnkeyatts) k ORDER BY k)::text[],
       ARRAY(SELECT ix.indkey[k - 1] = 0 FROM generate_series(1, ix.indnkeyatts) k ORDER BY k)::text[],
       pg_get_expr(ix.indpred, ix.indrelid, true),
       EXISTS (SELECT 1 FROM pg_catalog.pg_stat_progress_create_index p WHERE p.index_relid = ix.indexrelid),
       ARRAY(SELECT ix.indclass[k - 1] FROM generate_series(1, ix.indnkeyatts) k ORDER BY k)::text[],
       coalesce(i.reloptions, '{}')::text[]
FROM pg_catalog.pg_index ix
JOIN pg_catalog.pg_class i ON i.oid = ix.indexrelid
JOIN pg_catalog.pg_class t ON t.oid = ix.indrelid
JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace
JOIN pg_catalog.pg_am am ON am.oid = i.relam
WHERE n.nspname = ANY($1::text[]) AND n.nspname || '.' || t.relname <> ALL($2::text[])
ORDER BY 1, 2, 3)SQL";

constexpr const char* kServerQuery = R"SQL(
SELECT ARRAY(SELECT nspname FROM pg_catalog.pg_namespace WHERE nspname = ANY($1::text[]) ORDER BY 1)::text[],
       ARRAY(SELECT n.nspname || '.' || c.relname FROM pg_catalog.pg_class c
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = ANY($1::text[]) AND n.nspname || '.' || c.relname <> ALL($2::text[]) ORDER BY 1)::text[],
       EXISTS (SELECT 1 FROM pg_catalog.pg_available_extensions WHERE name = 'vector'),
       EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'vector'),
       (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user)
         OR (coalesce((SELECT bool_or(trusted) FROM pg_catalog.pg_available_extension_versions WHERE name = 'vector'), false)
             AND has_database_privilege(current_database(), 'CREATE')),
       current_user, current_database(),
       ARRAY(SELECT oid FROM pg_catalog.pg_opclass ORDER BY oid)::text[],
       ARRAY(SELECT opcname FROM pg_catalog.pg_opclass ORDER BY oid)::text[],
       ARRAY(SELECT opcdefault FROM pg_catalog.pg_opclass ORDER BY oid)::text[])SQL";

bool flag(const pg::Result& r, int row, int col) { return r.value(row, col) == std::optional<std::string_view>("t"); }

std::optional<std::string> optional_text(const pg::Result& r, int row, int col) {
    auto v = r.value(row, col);
    return v ? std::optional<std::string>(std::string(*v)) : std::nullopt;
}

}  // namespace

model::ActualSchema read_catalog(pg::Connection& connection, const std::vector<std::string>& schemas,
                                 const std::vector<std::string>& excluded) {
    const std::vector<std::optional<std::string>> params{text_array(schemas), text_array(excluded)};
    model::ActualSchema actual;

    // The four reads in one round trip: a database a network hop away paid one for each.
    std::vector<pg::PipelineResult> results;
    {
        pg::Pipeline pipeline(connection, pg::Pipeline::Timing::none);
        for (const char* query : {kServerQuery, kColumnsQuery, kConstraintsQuery, kIndexesQuery})
            pipeline.send(query, params);
        results = pipeline.sync();
    }
    const pg::Result& server = results.at(0).result;
    for (auto& s : parse_text_array(server.text(0, 0))) actual.schemas.insert(std::move(s));
    for (auto& r : parse_text_array(server.text(0, 1))) actual.relation_names.insert(std::move(r));
    actual.vector_available = flag(server, 0, 2);
    actual.vector_installed = flag(server, 0, 3);
    actual.vector_creatable = flag(server, 0, 4);
    actual.role = server.text(0, 5);
    actual.database = server.text(0, 6);
    // Operator classes by OID, read once: looked up per index key on the server, a join of
    // pg_opclass for each index, they were a third of the index query at 5,000 tables.
    std::unordered_map<std::string, std::pair<std::string, bool>> opclasses;
    {
        const auto oids = parse_text_array(server.text(0, 7));
        const auto names = parse_text_array(server.text(0, 8));
        const auto defaults = parse_text_array(server.text(0, 9));
        for (std::size_t k = 0; k < oids.size() && k < names.size() && k < defaults.size(); ++k)
            opclasses.emplace(oids[k], std::pair(names[k], defaults[k] == "true" || defaults[k] == "t"));
    }

    const pg::Result& columns = results.at(1).result;
    for (int r = 0; r < columns.rows(); ++r) {
        const std::string schema = columns.text(r, 0), name = columns.text(r, 1);
        auto& table = actual.tables[schema + "." + name];
        table.schema = schema;
        table.name = name;
        if (columns.is_null(r, 2)) continue;  // a table without columns
        table.columns.push_back({columns.text(r, 2), columns.text(r, 3), flag(columns, r, 4), optional_text(columns, r, 5)});
    }

    const pg::Result& constraints = results.at(2).result;
    for (int r = 0; r < constraints.rows(); ++r) {
        auto it = actual.tables.find(constraints.text(r, 0) + "." + constraints.text(r, 1));
        if (it == actual.tables.end()) continue;
        model::ActualConstraint c;
        c.name = constraints.text(r, 2);
        c.kind = constraints.text(r, 3).at(0);
        c.validated = flag(constraints, r, 4);
        c.columns = parse_text_array(constraints.text(r, 5));
        if (c.kind == 'f') {
            c.ref_schema = constraints.text(r, 6);
            c.ref_table = constraints.text(r, 7);
            c.ref_columns = parse_text_array(constraints.text(r, 8));
            c.on_delete = constraints.text(r, 9).at(0);
            c.on_update = constraints.text(r, 10).at(0);
        }
        c.definition = constraints.text(r, 11);
        it->second.constraints.emplace(c.name, std::move(c));
    }

    const pg::Result& indexes = results.at(3).result;
    for (int r = 0; r < indexes.rows(); ++r) {
        auto it = actual.tables.find(indexes.text(r, 0) + "." + indexes.text(r, 1));
        if (it == actual.tables.end()) continue;
        model::ActualIndex idx;
        idx.name = indexes.text(r, 2);
        idx.unique = flag(indexes, r, 3);
        idx.valid = flag(indexes, r, 4);
        idx.method = indexes.text(r, 5);
        idx.keys = parse_text_array(indexes.text(r, 6));
        for (const auto& e : parse_text_array(indexes.text(r, 7))) idx.expression_keys.push_back(e == "true" || e == "t");
        idx.predicate = optional_text(indexes, r, 8);
        idx.building = flag(indexes, r, 9);
        for (const auto& oid : parse_text_array(indexes.text(r, 10))) {
            const auto opclass = opclasses.find(oid);
            if (opclass == opclasses.end()) continue;  // cannot happen: indclass names existing classes
            idx.opclasses.push_back(opclass->second.first);
            idx.default_opclasses.push_back(opclass->second.second);
        }
        for (const auto& option : parse_text_array(indexes.text(r, 11))) {
            const auto eq = option.find('=');
            idx.options.emplace_back(option.substr(0, eq), eq == std::string::npos ? "" : option.substr(eq + 1));
        }
        std::sort(idx.options.begin(), idx.options.end());
        it->second.indexes.emplace(idx.name, std::move(idx));
    }
    return actual;
}

const char* fingerprint_query() {
    // Everything the planner looks at, as raw catalog values (OIDs, key arrays, stored expression
    // trees) rather than deparsed text: the server hashes them 4x faster than pg_get_*def() output.
    // A hand-made change there, even a table dropped and recreated the same, changes the result.
    // The rows are combined without sorting them: their count and the sum of a 64-bit hash of each
    // (hashtextextended, PostgreSQL 11 and later), which costs about a quarter less than hashing
    // the sorted text at 1,000 tables and misses a change only by a 64-bit collision.
    // NULL while an index is invalid or a constraint not validated: work is pending then.
    return R"SQL(
SELECT CASE WHEN EXISTS (
    SELECT 1 FROM pg_catalog.pg_index ix
    JOIN pg_catalog.pg_class i ON i.oid = ix.indexrelid JOIN pg_catalog.pg_namespace n ON n.oid = i.relnamespace
    WHERE n.nspname = ANY($1::text[]) AND NOT ix.indisvalid)
  OR EXISTS (
    SELECT 1 FROM pg_catalog.pg_constraint con JOIN pg_catalog.pg_namespace n ON n.oid = con.connamespace
    WHERE n.nspname = ANY($1::text[]) AND NOT con.convalidated)
  THEN NULL ELSE (
SELECT count(*)::text || ' ' || coalesce(sum(hashtextextended(line COLLATE "C", 0)::numeric), 0)::text FROM (
  SELECT 'n ' || oid::text || ' ' || nspname AS line FROM pg_catalog.pg_namespace WHERE nspname = ANY($1::text[])
  UNION ALL
  SELECT concat_ws(' ', 'r', c.oid, c.relname, c.relnamespace, c.relkind)
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = ANY($1::text[])
  UNION ALL
  SELECT concat_ws(' ', 'a', a.attrelid, a.attnum, a.attname, a.atttypid, a.atttypmod, a.attnotnull, d.adbin)
  FROM pg_catalog.pg_attribute a
  JOIN pg_catalog.pg_class c ON c.oid = a.attrelid AND c.relkind IN ('r', 'p')
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
  WHERE n.nspname = ANY($1::text[]) AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  SELECT concat_ws(' ', 'c', con.oid, con.conname, con.conrelid, con.contype, con.convalidated, con.conkey, con.confrelid,
                   con.confkey, con.confdeltype, con.confupdtype, con.conbin)
  FROM pg_catalog.pg_constraint con JOIN pg_catalog.pg_namespace n ON n.oid = con.connamespace
  WHERE n.nspname = ANY($1::text[])
  UNION ALL
  SELECT concat_ws(' ', 'i', ix.indexrelid, ix.indrelid, ix.indisunique, ix.indisvalid, ix.indkey, ix.indclass, i.relam,
                   ix.indexprs, ix.indpred, i.reloptions)
  FROM pg_catalog.pg_index ix
  JOIN pg_catalog.pg_class i ON i.oid = ix.indexrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = i.relnamespace
  WHERE n.nspname = ANY($1::text[])
  UNION ALL
  SELECT 'e ' || extname || ' ' || extversion FROM pg_catalog.pg_extension WHERE extname = 'vector'
) lines) END)SQL";
}

std::vector<std::string> missing_tables(pg::Connection& connection,
                                        const std::vector<std::pair<std::string, std::string>>& tables) {
    std::vector<std::string> schemas, names;
    for (const auto& [schema, name] : tables) {
        schemas.push_back(schema);
        names.push_back(name);
    }
    const auto missing = connection.exec_params(
        "SELECT wanted.s, wanted.t FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS wanted(s, t, n) "
        "WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class c "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = wanted.s AND c.relname = wanted.t AND c.relkind IN ('r', 'p')) ORDER BY wanted.n",
        {text_array(schemas), text_array(names)});
    std::vector<std::string> out;
    for (int r = 0; r < missing.rows(); ++r) out.push_back(missing.text(r, 0) + "." + missing.text(r, 1));
    return out;
}

}  // namespace plinth::introspect
