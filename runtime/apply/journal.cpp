#include "apply/journal.hpp"

#include <nlohmann/json.hpp>

namespace plinth::apply {

namespace {

constexpr const char* kCreate = R"SQL(
CREATE SCHEMA IF NOT EXISTS plinth;
CREATE TABLE IF NOT EXISTS plinth.migrations (
  id bigserial PRIMARY KEY,
  applied_at timestamptz NOT NULL DEFAULT now(),
  plinth_version text NOT NULL,
  desired_hash text NOT NULL,
  statements integer NOT NULL,
  duration_ms double precision NOT NULL,
  notes jsonb NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS plinth.journal (
  id bigserial PRIMARY KEY,
  migration_id bigint NOT NULL REFERENCES plinth.migrations (id),
  plugin text NOT NULL,
  version text NOT NULL,
  schema_hash text NOT NULL,
  statements jsonb NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now(),
  duration_ms double precision NOT NULL
);
CREATE INDEX IF NOT EXISTS journal_plugin_idx ON plinth.journal (plugin, id);
CREATE TABLE IF NOT EXISTS plinth.state (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  desired_hash text NOT NULL,
  catalog_fingerprint text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
))SQL";

}  // namespace

bool Journal::exists() {
    return connection_.exec("SELECT to_regclass('plinth.state') IS NOT NULL").text(0, 0) == "t";
}

std::optional<JournalState> Journal::state() {
    auto r = connection_.exec("SELECT desired_hash, catalog_fingerprint FROM plinth.state");
    if (r.rows() == 0) return std::nullopt;
    return JournalState{r.text(0, 0), r.text(0, 1)};
}

void Journal::create() { connection_.exec(kCreate); }

std::map<std::string, PluginRecord> Journal::latest_per_plugin() {
    auto r = connection_.exec(
        "SELECT DISTINCT ON (plugin) plugin, version, schema_hash, "
        "to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), migration_id "
        "FROM plinth.journal ORDER BY plugin, id DESC");
    std::map<std::string, PluginRecord> out;
    for (int i = 0; i < r.rows(); ++i)
        out[r.text(i, 0)] = {r.text(i, 1), r.text(i, 2), r.text(i, 3), std::stoll(r.text(i, 4))};
    return out;
}

std::int64_t Journal::record_migration(const std::string& desired_hash, std::size_t statements, double ms,
                                       const std::vector<std::string>& notes) {
    auto r = connection_.exec_params(
        "INSERT INTO plinth.migrations (plinth_version, desired_hash, statements, duration_ms, notes) "
        "VALUES ($1, $2, $3, $4, $5::jsonb) RETURNING id",
        {std::string(PLINTH_VERSION), desired_hash, std::to_string(statements), std::to_string(ms),
         nlohmann::json(notes).dump()});
    return std::stoll(r.text(0, 0));
}

void Journal::record_plugin(std::int64_t migration_id, const model::Plugin& plugin, const std::string& schema_hash,
                            const std::vector<StatementRecord>& statements) {
    nlohmann::json list = nlohmann::json::array();
    double total = 0;
    for (const auto& s : statements) {
        list.push_back({{"sql", s.sql}, {"ms", s.ms}});
        total += s.ms;
    }
    connection_.exec_params(
        "INSERT INTO plinth.journal (migration_id, plugin, version, schema_hash, statements, duration_ms) "
        "VALUES ($1, $2, $3, $4, $5::jsonb, $6)",
        {std::to_string(migration_id), plugin.name, plugin.version, schema_hash, list.dump(), std::to_string(total)});
}

void Journal::save_state(const std::string& desired_hash, const std::string& fingerprint) {
    connection_.exec_params(
        "INSERT INTO plinth.state (singleton, desired_hash, catalog_fingerprint) VALUES (true, $1, $2) "
        "ON CONFLICT (singleton) DO UPDATE SET desired_hash = EXCLUDED.desired_hash, "
        "catalog_fingerprint = EXCLUDED.catalog_fingerprint, updated_at = now()",
        {desired_hash, fingerprint});
}

}  // namespace plinth::apply
