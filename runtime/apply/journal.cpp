#include "apply/journal.hpp"

#include <algorithm>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "introspect/catalog.hpp"

namespace plinth::apply {

namespace {

constexpr const char* kCreate = R"SQL(
CREATE TABLE IF NOT EXISTS {j}.migrations (
  id bigserial PRIMARY KEY,
  applied_at timestamptz NOT NULL DEFAULT now(),
  plinth_version text NOT NULL,
  desired_hash text NOT NULL,
  statements integer NOT NULL,
  duration_ms double precision NOT NULL,
  notes jsonb NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS {j}.journal (
  id bigserial PRIMARY KEY,
  migration_id bigint NOT NULL REFERENCES {j}.migrations (id),
  plugin text NOT NULL,
  version text NOT NULL,
  schema_hash text NOT NULL,
  statements jsonb NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now(),
  duration_ms double precision NOT NULL
);
CREATE INDEX IF NOT EXISTS journal_plugin_idx ON {j}.journal (plugin, id);
ALTER TABLE {j}.migrations ADD COLUMN IF NOT EXISTS after_commit jsonb NOT NULL DEFAULT '[]';
CREATE TABLE IF NOT EXISTS {j}.backfills (
  table_name text NOT NULL,
  column_name text NOT NULL,
  plugin text NOT NULL,
  expression text NOT NULL,
  phase text NOT NULL,
  last_key text[],
  rows_done bigint NOT NULL DEFAULT 0,
  rows_filled bigint NOT NULL DEFAULT 0,
  rows_total bigint NOT NULL,
  batches bigint NOT NULL DEFAULT 0,
  started_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  PRIMARY KEY (table_name, column_name)
);
ALTER TABLE {j}.journal ADD COLUMN IF NOT EXISTS upgraded_from text;
CREATE TABLE IF NOT EXISTS {j}.state (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  desired_hash text NOT NULL,
  catalog_fingerprint text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE {j}.state ADD COLUMN IF NOT EXISTS ddl_epoch bigint, ADD COLUMN IF NOT EXISTS ddl_guard text;
ALTER TABLE {j}.state ADD COLUMN IF NOT EXISTS plugins_key text;
ALTER TABLE {j}.state ADD COLUMN IF NOT EXISTS plan_clean boolean NOT NULL DEFAULT false;
CREATE TABLE IF NOT EXISTS {j}.ddl_epoch (
  pid integer PRIMARY KEY,
  bumps bigint NOT NULL
))SQL";

// The DDL epoch's trigger function. One row per backend pid, so that DDL in concurrent
// transactions never waits on another's row lock; the epoch is the sum, which changes exactly when
// a transaction that ran DDL commits (MVCC: the bump commits with the DDL). Objects that are all
// temporary do not count (temporary tables would otherwise make every such transaction write WAL).
// A DROP is counted by sql_drop, which names what it dropped; some commands also count at
// ddl_command_start (kStartTags). (Not DROP INDEX: a write there would refuse DROP INDEX
// CONCURRENTLY, which must be the first action of its transaction.) The version line changes
// whenever the body does.
constexpr const char* kBumpFunction = R"SQL(
-- plinth DDL epoch, version 1
BEGIN
  IF TG_EVENT = 'ddl_command_end' THEN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_event_trigger_ddl_commands() c
                   WHERE c.schema_name IS DISTINCT FROM 'pg_temp')
       AND (TG_TAG LIKE 'DROP %' OR EXISTS (SELECT FROM pg_catalog.pg_event_trigger_ddl_commands())) THEN
      RETURN;
    END IF;
  ELSIF TG_EVENT = 'sql_drop' THEN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_event_trigger_dropped_objects() o WHERE NOT o.is_temporary) THEN
      RETURN;
    END IF;
  END IF;
  -- Dropping the journal must not fail on its own trigger.
  IF pg_catalog.to_regclass({table}) IS NULL THEN
    RETURN;
  END IF;
  INSERT INTO {j}.ddl_epoch AS e (pid, bumps) VALUES (pg_catalog.pg_backend_pid(), 1)
    ON CONFLICT (pid) DO UPDATE SET bumps = e.bumps + 1;
END
)SQL";

// What the start trigger counts before the command runs: CREATE INDEX, because CONCURRENTLY commits
// an invalid index before a failure could reach ddl_command_end; CREATE FUNCTION, because replacing
// the trigger function itself would otherwise go unseen (its new body is the one ddl_command_end runs).
const std::vector<std::string> kStartTags = {"CREATE INDEX", "CREATE FUNCTION"};

// Event trigger names are per database: the journal schema's name is in them, hashed when too long.
std::string trigger_name(const std::string& schema, const std::string& event) {
    std::string name = schema + "_ddl_epoch_" + event;
    if (name.size() <= 63) return name;
    std::uint64_t h = 1469598103934665603ull;  // FNV-1a
    for (unsigned char c : schema) h = (h ^ c) * 1099511628211ull;
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
    return "plinth_" + std::string(hex) + "_ddl_epoch_" + event;
}

}  // namespace

std::vector<std::string> journal_relations(const std::string& schema) {
    std::vector<std::string> out;
    for (const char* name : {"migrations", "migrations_id_seq", "migrations_pkey", "journal", "journal_id_seq",
                             "journal_pkey", "journal_plugin_idx", "journal_migration_id_fkey", "state", "state_pkey",
                             "state_singleton_check", "backfills", "backfills_pkey", "ddl_epoch", "ddl_epoch_pkey"})
        out.push_back(schema + "." + name);
    return out;
}

Journal::Journal(pg::Connection& connection, std::string schema)
    : connection_(connection), schema_(std::move(schema)), quoted_(connection.quote_identifier(schema_)) {}

std::string Journal::in_schema(std::string_view sql) const {
    std::string out;
    for (std::size_t i = 0; i < sql.size(); ++i) {
        if (sql.compare(i, 3, "{j}") == 0) {
            out += quoted_;
            i += 2;
        } else {
            out += sql[i];
        }
    }
    return out;
}

bool Journal::exists() {
    return connection_.exec_params("SELECT to_regclass($1) IS NOT NULL", {quoted_ + ".state"}).text(0, 0) == "t";
}

std::string Journal::presence_columns() const {
    const auto literal = [this](const std::string& text) { return connection_.quote_literal(text); };
    // The tables' part of `complete`, the schema, the function; read_presence joins the first and last.
    return "to_regclass(" + literal(quoted_ + ".ddl_epoch") +
           ") IS NOT NULL AND EXISTS (SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = to_regclass(" +
           literal(quoted_ + ".state") + ") AND attname = 'plan_clean' AND NOT attisdropped), " +
           "EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = " + literal(schema_) + "), " +
           "to_regprocedure(" + literal(fingerprint_function() + "(text[])") + ") IS NOT NULL";
}

Journal::Presence Journal::read_presence(const pg::Result& result, int column) {
    const bool tables = result.text(0, column) == "t", function = result.text(0, column + 2) == "t";
    return {tables && function, result.text(0, column + 1) == "t", function};
}

std::string Journal::fingerprint_function() const {
    std::uint64_t h = 1469598103934665603ull;  // FNV-1a
    for (unsigned char c : std::string_view(introspect::fingerprint_query())) h = (h ^ c) * 1099511628211ull;
    char hex[9];
    std::snprintf(hex, sizeof hex, "%08llx", static_cast<unsigned long long>(h & 0xffffffffull));
    return quoted_ + ".catalog_fingerprint_" + hex;
}

bool Journal::has_migration(std::int64_t id, const std::string& desired_hash) {
    if (!exists()) return false;
    return connection_
               .exec_params(in_schema("SELECT EXISTS (SELECT 1 FROM {j}.migrations WHERE id = $1 AND desired_hash = $2)"),
                            {std::to_string(id), desired_hash})
               .text(0, 0) == "t";
}

std::optional<JournalState> Journal::state() {
    auto r = connection_.exec(in_schema("SELECT desired_hash, catalog_fingerprint FROM {j}.state"));
    if (r.rows() == 0) return std::nullopt;
    return JournalState{r.text(0, 0), r.text(0, 1)};
}

void Journal::create(const Presence& presence) {
    std::string sql;
    if (!presence.schema) sql = "CREATE SCHEMA " + quoted_ + ";\n";
    sql += in_schema(kCreate);
    if (!presence.function)
        sql += ";\nCREATE FUNCTION " + fingerprint_function() + "(text[]) RETURNS text LANGUAGE plpgsql STABLE AS " +
               connection_.quote_literal(std::string("BEGIN RETURN (") + introspect::fingerprint_query() + "); END");
    connection_.exec(sql);
}

std::map<std::string, PluginRecord> Journal::latest_per_plugin() {
    auto r = connection_.exec(in_schema(
        "SELECT DISTINCT ON (plugin) plugin, version, schema_hash, "
        "to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), migration_id "
        "FROM {j}.journal ORDER BY plugin, id DESC"));
    std::map<std::string, PluginRecord> out;
    for (int i = 0; i < r.rows(); ++i)
        out[r.text(i, 0)] = {r.text(i, 1), r.text(i, 2), r.text(i, 3), std::stoll(r.text(i, 4))};
    return out;
}

std::int64_t Journal::record_migration(const std::string& desired_hash, std::size_t statements, double ms,
                                       const std::vector<std::string>& notes, const std::vector<PluginPart>& parts) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& part : parts) {
        nlohmann::json list = nlohmann::json::array();
        for (const auto& s : part.statements)
            list.push_back({{"sql", s.sql}, {"ms", s.ms ? nlohmann::json(*s.ms) : nlohmann::json()}});
        rows.push_back({{"plugin", part.plugin->name}, {"version", part.plugin->version},
                        {"schema_hash", part.schema_hash}, {"statements", std::move(list)}, {"ms", part.ms},
                        {"upgraded_from", part.upgraded_from ? nlohmann::json(*part.upgraded_from) : nlohmann::json()}});
    }
    // The plugins' rows take their ids in the order given (history lists them by id).
    auto r = connection_.exec_params(
        in_schema("WITH m AS (INSERT INTO {j}.migrations (plinth_version, desired_hash, statements, duration_ms, notes) "
                  "VALUES ($1, $2, $3, $4, $5::jsonb) RETURNING id), "
                  "p AS (INSERT INTO {j}.journal (migration_id, plugin, version, schema_hash, statements, duration_ms, "
                  "upgraded_from) SELECT m.id, e.part ->> 'plugin', e.part ->> 'version', e.part ->> 'schema_hash', "
                  "e.part -> 'statements', (e.part ->> 'ms')::double precision, e.part ->> 'upgraded_from' "
                  "FROM m, jsonb_array_elements($6::jsonb) WITH ORDINALITY AS e(part, n) ORDER BY e.n) "
                  "SELECT id FROM m"),
        {std::string(PLINTH_VERSION), desired_hash, std::to_string(statements), std::to_string(ms),
         nlohmann::json(notes).dump(), rows.dump()});
    return std::stoll(r.text(0, 0));
}

void Journal::record_after_commit(std::int64_t migration_id, const std::vector<AfterCommitRecord>& work) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& w : work)
        list.push_back({{"plugin", w.plugin}, {"table", w.table}, {"summary", w.summary}, {"sql", w.sql}, {"ms", w.ms},
                        {"error", w.error.empty() ? nlohmann::json() : nlohmann::json(w.error)}});
    connection_.exec_params(in_schema("UPDATE {j}.migrations SET after_commit = $2::jsonb WHERE id = $1"),
                            {std::to_string(migration_id), list.dump()});
}

std::vector<MigrationRecord> Journal::history(const std::string& plugin, int limit) {
    // to_jsonb(m) reads after_commit where the column exists, so a journal written by an older plinth
    // (before the column) reads too, without changing it.
    const auto r = connection_.exec_params(in_schema(R"SQL(
WITH parts AS (
  SELECT migration_id, id, plugin, version, schema_hash, statements,
         lag(version) OVER (PARTITION BY plugin ORDER BY id) AS previous_version,
         to_jsonb(j) ->> 'upgraded_from' AS upgraded_from
  FROM {j}.journal j
)
SELECT m.id, to_char(m.applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), m.plinth_version,
       m.statements, m.duration_ms, m.notes::text, COALESCE(to_jsonb(m) -> 'after_commit', '[]')::text,
       COALESCE((SELECT jsonb_agg(jsonb_build_object('plugin', p.plugin, 'version', p.version,
                                                     'previous_version', p.previous_version,
                                                     'schema_hash', p.schema_hash, 'statements', p.statements,
                                                     'upgraded_from', p.upgraded_from)
                                  ORDER BY p.id)
                 FROM parts p WHERE p.migration_id = m.id AND ($1 = '' OR p.plugin = $1)), '[]')::text
FROM {j}.migrations m
WHERE $1 = '' OR EXISTS (SELECT 1 FROM {j}.journal j WHERE j.migration_id = m.id AND j.plugin = $1)
ORDER BY m.id DESC
LIMIT $2)SQL"),
                                           {plugin, std::to_string(limit)});
    std::vector<MigrationRecord> out;
    for (int i = 0; i < r.rows(); ++i) {
        MigrationRecord m;
        m.id = std::stoll(r.text(i, 0));
        m.applied_at = r.text(i, 1);
        m.plinth_version = r.text(i, 2);
        m.statements = std::stoll(r.text(i, 3));
        m.duration_ms = std::stod(r.text(i, 4));
        m.notes = nlohmann::json::parse(r.text(i, 5)).get<std::vector<std::string>>();
        for (const auto& w : nlohmann::json::parse(r.text(i, 6))) {
            if (!plugin.empty() && w.value("plugin", "") != plugin) continue;
            m.after_commit.push_back({w.value("plugin", ""), w.value("table", ""), w.value("summary", ""),
                                      w.value("sql", ""), w.value("ms", 0.0),
                                      w.contains("error") && w["error"].is_string() ? w["error"].get<std::string>() : ""});
        }
        for (const auto& p : nlohmann::json::parse(r.text(i, 7))) {
            MigrationRecord::Plugin part{p["plugin"], p["version"],
                                        p["previous_version"].is_string() ? p["previous_version"].get<std::string>() : "",
                                        p["schema_hash"], {},
                                        p.value("upgraded_from", nlohmann::json()).is_string()
                                            ? p["upgraded_from"].get<std::string>()
                                            : ""};
            for (const auto& st : p["statements"]) {
                const auto ms = st.find("ms");
                part.statements.push_back(
                    {st["sql"], ms != st.end() && ms->is_number() ? std::optional(ms->get<double>()) : std::nullopt});
            }
            m.plugins.push_back(std::move(part));
        }
        out.push_back(std::move(m));
    }
    return out;
}

std::map<std::string, std::string> Journal::table_creators(const std::vector<std::string>& tables) {
    // The planner writes CREATE TABLE "schema"."name" (...): the first such statement recorded for a
    // name tells who created it.
    const auto r = connection_.exec_params(in_schema(R"SQL(
SELECT DISTINCT ON (n.name) n.name, j.plugin, j.version, j.migration_id
FROM {j}.journal j
CROSS JOIN LATERAL jsonb_array_elements(j.statements) s
CROSS JOIN LATERAL (SELECT regexp_match(s ->> 'sql', '^CREATE TABLE "((?:[^"]|"")+)"\."((?:[^"]|"")+)"')) m(parts)
CROSS JOIN LATERAL (SELECT replace(m.parts[1], '""', '"') || '.' || replace(m.parts[2], '""', '"')) n(name)
WHERE m.parts IS NOT NULL AND n.name = ANY($1::text[])
ORDER BY n.name, j.id)SQL"),
                                           {introspect::text_array(tables)});
    std::map<std::string, std::string> out;
    for (int i = 0; i < r.rows(); ++i)
        out[r.text(i, 0)] =
            "plugin \"" + r.text(i, 1) + "\" (version " + r.text(i, 2) + ", migration " + r.text(i, 3) + ")";
    return out;
}

void Journal::save_state(const std::string& desired_hash, const CatalogMark& mark,
                         const std::optional<std::string>& plugins_key, bool plan_clean) {
    const bool epoch = !mark.fingerprint.empty() && mark.epoch && mark.guard;
    connection_.exec_params(
        in_schema("INSERT INTO {j}.state (singleton, desired_hash, catalog_fingerprint, ddl_epoch, ddl_guard, plugins_key, "
                  "plan_clean) VALUES (true, $1, $2, $3, $4, $5, $6) "
                  "ON CONFLICT (singleton) DO UPDATE SET desired_hash = EXCLUDED.desired_hash, "
                  "catalog_fingerprint = EXCLUDED.catalog_fingerprint, ddl_epoch = EXCLUDED.ddl_epoch, "
                  "ddl_guard = EXCLUDED.ddl_guard, plugins_key = EXCLUDED.plugins_key, "
                  "plan_clean = EXCLUDED.plan_clean, updated_at = now()"),
        {desired_hash, mark.fingerprint, epoch ? mark.epoch : std::nullopt, epoch ? mark.guard : std::nullopt,
         plugins_key, plan_clean ? "true" : "false"});
}

void Journal::save_plugins_key(const std::string& desired_hash, const std::string& plugins_key) {
    connection_.exec_params(in_schema("UPDATE {j}.state SET plugins_key = $2 WHERE desired_hash = $1"),
                            {desired_hash, plugins_key});
}

void Journal::arm_ddl_epoch(const std::string& desired_hash, const CatalogMark& mark) {
    if (mark.fingerprint.empty() || !mark.epoch || !mark.guard) return;
    connection_.exec_params(
        in_schema("UPDATE {j}.state SET ddl_epoch = $3, ddl_guard = $4 "
                  "WHERE desired_hash = $1 AND catalog_fingerprint = $2"),
        {desired_hash, mark.fingerprint, mark.epoch, mark.guard});
}

std::vector<std::string> Journal::ddl_trigger_names() const {
    return {trigger_name(schema_, "drop"), trigger_name(schema_, "end"), trigger_name(schema_, "start")};
}

std::string Journal::ddl_epoch_sql() const {
    return in_schema("(SELECT coalesce(sum(bumps), 0)::text FROM {j}.ddl_epoch)");
}

std::optional<RecordedKeyRow> Journal::recorded_key() {
    const auto r = connection_.exec_params(
        in_schema("SELECT s.plugins_key, s.plan_clean, s.ddl_epoch, s.ddl_guard, (SELECT sum(bumps) FROM {j}.ddl_epoch), "
                  "pg_catalog.pg_postmaster_start_time(), pg_catalog.pg_is_in_recovery(), "
                  "pg_catalog.current_setting('transaction_read_only'), e.evtname, e.xmin, e.evtenabled "
                  "FROM {j}.state s LEFT JOIN pg_catalog.pg_event_trigger e ON true"),
        {});
    if (r.rows() == 0) return std::nullopt;
    RecordedKeyRow row;
    if (!r.is_null(0, 0)) row.plugins_key = r.text(0, 0);
    row.plan_clean = r.text(0, 1) == "t";
    row.in_recovery = r.text(0, 6) == "t";
    row.read_only = r.text(0, 7) == "on";
    // ddl_epoch_sql's text: the sum of no rows is 0.
    const std::string epoch = r.is_null(0, 4) ? "0" : r.text(0, 4);
    // ddl_guard_sql's text: the start time, then "name:xmin" of each of the three triggers that
    // fires always, in the catalog's order (the rows' order here: a nested loop over one state row);
    // NULL unless there are three.
    const auto names = ddl_trigger_names();
    std::string guard = r.text(0, 5);
    int ours = 0;
    for (int i = 0; i < r.rows(); ++i) {
        if (r.is_null(i, 8) || r.text(i, 10) != "A") continue;
        if (std::find(names.begin(), names.end(), r.text(i, 8)) == names.end()) continue;
        guard += " " + r.text(i, 8) + ":" + r.text(i, 9);
        ++ours;
    }
    row.epoch_holds = ours == 3 && !r.is_null(0, 2) && !r.is_null(0, 3) && r.text(0, 2) == epoch &&
                      r.text(0, 3) == guard;
    return row;
}

std::string Journal::epoch_holds_sql(const std::string& state, const std::string& epoch, const std::string& guard) {
    return "coalesce(" + state + ".ddl_epoch::text = " + epoch + " AND " + state + ".ddl_guard = " + guard + ", false)";
}

std::string Journal::ddl_guard_sql(int names_param) const {
    // An ALTER EVENT TRIGGER (disable, enable, rename, owner) gives its row a new xmin: DDL while a
    // trigger was off cannot hide behind an epoch that did not move. Replacing the trigger function
    // fires the start trigger, with the body being replaced, which moves the epoch. A server restart
    // changes the start time (single-user mode runs no event triggers). No ORDER BY: the rows come in
    // the catalog's scan order, which changes only with their xmin, and recorded_key reads them in
    // the same order.
    const std::string ours = "e.evtname = ANY($" + std::to_string(names_param) +
                             "::name[]) AND e.evtenabled = 'A' AND e.evtfoid = pg_catalog.to_regprocedure(" +
                             connection_.quote_literal(quoted_ + ".bump_ddl_epoch()") + ")";
    return "(SELECT pg_catalog.pg_postmaster_start_time()::text || ' ' || "
           "string_agg(e.evtname || ':' || e.xmin::text, ' ') FILTER (WHERE " + ours + ") "
           "FROM pg_catalog.pg_event_trigger e HAVING count(*) FILTER (WHERE " + ours + ") = 3)";
}

bool Journal::install_ddl_epoch() {
    const auto names = ddl_trigger_names();
    const std::string function = quoted_ + ".bump_ddl_epoch()";
    std::string body = in_schema(kBumpFunction);
    const auto at = body.find("{table}");
    body.replace(at, 7, connection_.quote_literal(quoted_ + ".ddl_epoch"));
    // The start trigger of a journal from before CREATE FUNCTION counted: its state, to be kept.
    const auto r = connection_.exec_params(
        "SELECT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user), "
        "(SELECT prosrc FROM pg_catalog.pg_proc WHERE oid = pg_catalog.to_regprocedure($1)), "
        "ARRAY(SELECT evtname FROM pg_catalog.pg_event_trigger WHERE evtname = ANY($2::text[]))::text[], "
        "(SELECT evtenabled::text FROM pg_catalog.pg_event_trigger WHERE evtname = $3 "
        "AND NOT (evttags @> $4::text[] AND evttags <@ $4::text[]))",
        {function, introspect::text_array(names), names[2], introspect::text_array(kStartTags)});
    if (r.text(0, 0) != "t") return false;
    // What is missing goes in one exec: one round trip, however many of the four are missing.
    std::string sql;
    if (r.is_null(0, 1) || r.text(0, 1) != body)
        sql = "CREATE OR REPLACE FUNCTION " + function +
              " RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER "
              "SET search_path = pg_catalog, pg_temp AS " + connection_.quote_literal(body) + ";";
    auto existing = introspect::parse_text_array(r.text(0, 2));
    // An outdated start trigger is made again in the state it was left in (disabled stays disabled).
    std::string start_state = "ENABLE ALWAYS";
    if (!r.is_null(0, 3)) {
        const auto state = r.text(0, 3);
        start_state = state == "D" ? "DISABLE" : state == "O" ? "ENABLE" : state == "R" ? "ENABLE REPLICA" : "ENABLE ALWAYS";
        sql += " DROP EVENT TRIGGER " + connection_.quote_identifier(names[2]) + ";";
        existing.erase(std::remove(existing.begin(), existing.end(), names[2]), existing.end());
    }
    std::string start_tags;
    for (const auto& tag : kStartTags) start_tags += (start_tags.empty() ? "" : ", ") + connection_.quote_literal(tag);
    const std::pair<std::string, std::string> events[] = {
        {"sql_drop", ""}, {"ddl_command_end", ""}, {"ddl_command_start", " WHEN TAG IN (" + start_tags + ")"}};
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (std::find(existing.begin(), existing.end(), names[i]) != existing.end()) continue;
        const auto name = connection_.quote_identifier(names[i]);
        // ALWAYS: session_replication_role = replica would otherwise silence it.
        sql += " CREATE EVENT TRIGGER " + name + " ON " + events[i].first + events[i].second +
               " EXECUTE FUNCTION " + function + "; ALTER EVENT TRIGGER " + name + " " +
               (i == 2 ? start_state : std::string("ENABLE ALWAYS")) + ";";
    }
    if (sql.empty()) return false;
    connection_.exec(sql);
    return true;
}

std::optional<BackfillProgress> Journal::backfill(const std::string& table, const std::string& column) {
    // A journal written before backfills existed has no such table until the next migration.
    if (connection_.exec_params("SELECT to_regclass($1) IS NULL", {quoted_ + ".backfills"}).text(0, 0) == "t")
        return std::nullopt;
    const auto r = connection_.exec_params(
        in_schema("SELECT expression, phase, array_to_json(last_key)::text, rows_done, rows_filled, rows_total, batches "
        "FROM {j}.backfills WHERE table_name = $1 AND column_name = $2"),
        {table, column});
    if (r.rows() == 0) return std::nullopt;
    BackfillProgress out{r.text(0, 0), r.text(0, 1), std::nullopt, std::stoll(r.text(0, 3)), std::stoll(r.text(0, 4)),
                         std::stoll(r.text(0, 5)), std::stoll(r.text(0, 6))};
    if (!r.is_null(0, 2)) out.last_key = nlohmann::json::parse(r.text(0, 2)).get<std::vector<std::string>>();
    return out;
}

void Journal::start_backfill(const std::string& plugin, const std::string& table, const std::string& column,
                             const std::string& expression, const std::string& phase, std::int64_t rows_total) {
    connection_.exec_params(
        in_schema("INSERT INTO {j}.backfills (table_name, column_name, plugin, expression, phase, rows_total) "
        "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (table_name, column_name) DO UPDATE SET "
        "plugin = EXCLUDED.plugin, expression = EXCLUDED.expression, phase = EXCLUDED.phase, last_key = NULL, "
        "rows_done = 0, rows_filled = 0, rows_total = EXCLUDED.rows_total, batches = 0, started_at = now(), "
        "updated_at = now(), finished_at = NULL"),
        {table, column, plugin, expression, phase, std::to_string(rows_total)});
}

void Journal::record_batch(const std::string& table, const std::string& column,
                           const std::vector<std::string>& last_key, std::int64_t rows, std::int64_t filled) {
    connection_.exec_params(
        in_schema("UPDATE {j}.backfills SET last_key = ARRAY(SELECT jsonb_array_elements_text($3::jsonb)), "
        "rows_done = rows_done + $4, rows_filled = rows_filled + $5, batches = batches + 1, updated_at = now() "
        "WHERE table_name = $1 AND column_name = $2"),
        {table, column, nlohmann::json(last_key).dump(), std::to_string(rows), std::to_string(filled)});
}

void Journal::finish_backfill(const std::string& table, const std::string& column) {
    connection_.exec_params(
        in_schema("UPDATE {j}.backfills SET phase = 'done', finished_at = now(), updated_at = now() "
        "WHERE table_name = $1 AND column_name = $2"),
        {table, column});
}

}  // namespace plinth::apply
