#include "introspect/probe.hpp"

#include <libpq-fe.h>

#include "model/text.hpp"

namespace plinth::introspect {
namespace {

using model::DeclaredDefault;
using model::DeclaredDefinition;

// Runs `work` where its effects are rolled back: in a savepoint inside a transaction, else in a
// transaction of its own.
template <class Work>
void rolled_back(pg::Connection& connection, Work work) {
    const bool in_transaction = PQtransactionStatus(connection.native()) == PQTRANS_INTRANS;
    connection.exec(in_transaction ? "SAVEPOINT plinth_probe" : "BEGIN");
    try {
        work();
    } catch (const pg::Error&) {
        // Something the server rejects: the caller compares as written, and applying it reports it.
    }
    connection.exec(in_transaction ? "ROLLBACK TO SAVEPOINT plinth_probe" : "ROLLBACK");
}

std::map<DeclaredDefinition, std::optional<std::string>> ask_definitions(
    pg::Connection& connection, const std::vector<DeclaredDefinition>& definitions) {
    std::map<DeclaredDefinition, std::optional<std::string>> answers;
    for (const auto& d : definitions) answers[d] = std::nullopt;
    if (definitions.empty()) return answers;
    // Each statement sent alone with the extended protocol, in a savepoint of its own, so that one
    // rejected definition leaves the others. Never through a PL/pgSQL EXECUTE, which would run
    // every statement a string holds.
    rolled_back(connection, [&] {
        std::map<std::string, std::size_t> table_index;
        for (std::size_t i = 0; i < definitions.size(); ++i) {
            const auto& d = definitions[i];
            auto [it, fresh] = table_index.emplace(d.table, table_index.size());
            const std::string probe = "plinth_probe_t" + std::to_string(it->second);
            if (fresh) connection.exec("CREATE TEMPORARY TABLE " + probe + " (LIKE " + model::qualified(d.table) + ")");
            const std::string statement =
                d.kind == 'c' ? "ALTER TABLE " + probe + " ADD CONSTRAINT plinth_probe_d" + std::to_string(i) + " CHECK (" + d.sql + ")"
                              : "CREATE INDEX plinth_probe_d" + std::to_string(i) + " ON " + probe + " " + d.sql;
            connection.exec("SAVEPOINT plinth_probe_step");
            try {
                connection.exec_params(statement, {});
                connection.exec("RELEASE SAVEPOINT plinth_probe_step");
            } catch (const pg::Error& e) {
                if (e.is_connection_lost()) throw;
                connection.exec("ROLLBACK TO SAVEPOINT plinth_probe_step");
            }
        }
        auto r = connection.exec(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_catalog.pg_constraint "
            "WHERE connamespace = pg_my_temp_schema() AND conname LIKE 'plinth\\_probe\\_d%' "
            "UNION ALL "
            "SELECT c.relname, array_to_string(ARRAY(SELECT pg_get_indexdef(ix.indexrelid, k, true) "
            "FROM generate_series(1, ix.indnkeyatts) k ORDER BY k), ', ') "
            "|| coalesce(' WHERE ' || pg_get_expr(ix.indpred, ix.indrelid, true), '') "
            "FROM pg_catalog.pg_index ix JOIN pg_catalog.pg_class c ON c.oid = ix.indexrelid "
            "WHERE c.relnamespace = pg_my_temp_schema() AND c.relname LIKE 'plinth\\_probe\\_d%'");
        for (int row = 0; row < r.rows(); ++row)
            answers[definitions.at(std::stoul(r.text(row, 0).substr(std::string("plinth_probe_d").size())))] = r.text(row, 1);
    });
    return answers;
}

std::map<DeclaredDefault, std::optional<std::string>> ask_server(pg::Connection& connection,
                                                                  const std::vector<DeclaredDefault>& defaults) {
    std::map<DeclaredDefault, std::optional<std::string>> answers;
    for (const auto& d : defaults) answers[d] = std::nullopt;
    if (defaults.empty()) return answers;
    rolled_back(connection, [&] {
        std::string columns;
        for (std::size_t i = 0; i < defaults.size(); ++i)
            columns += (i ? ", c" : "c") + std::to_string(i) + " " + defaults[i].first + " DEFAULT (" + defaults[i].second + ")";
        // One statement only (extended protocol), like every statement built from declarations.
        connection.exec_params("CREATE TEMPORARY TABLE plinth_default_probe (" + columns + ")", {});
        auto r = connection.exec(
            "SELECT a.attnum, pg_get_expr(d.adbin, d.adrelid) FROM pg_catalog.pg_attrdef d "
            "JOIN pg_catalog.pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum "
            "WHERE d.adrelid = 'pg_temp.plinth_default_probe'::regclass");
        for (int row = 0; row < r.rows(); ++row)
            answers[defaults.at(std::stoul(r.text(row, 0)) - 1)] = r.text(row, 1);
    });
    return answers;
}

// PostgreSQL stores a non-volatile default of a new column once, as the column's missing value
// (pg_attribute.atthasmissing), and computes a volatile one for every row, rewriting the table. So
// each default is added to an empty scratch table of its own (empty: a volatile default is never
// computed), and the flag says which it is. A table rewrite clears every flag of its table, hence
// one table per default. Anything unanswered counts as volatile: the careful side.
std::map<DeclaredDefault, bool> ask_volatility(pg::Connection& connection, const std::vector<DeclaredDefault>& defaults) {
    std::map<DeclaredDefault, bool> answers;
    for (const auto& d : defaults) answers[d] = true;
    if (defaults.empty()) return answers;
    rolled_back(connection, [&] {
        std::string tables;
        for (std::size_t i = 0; i < defaults.size(); ++i)
            tables += "CREATE TEMPORARY TABLE plinth_volatility_" + std::to_string(i) + " (k integer);\n";
        connection.exec(tables);
        for (std::size_t i = 0; i < defaults.size(); ++i)
            connection.exec_params("ALTER TABLE pg_temp.plinth_volatility_" + std::to_string(i) + " ADD COLUMN c " +
                                       defaults[i].first + " DEFAULT (" + defaults[i].second + ")",
                                   {});
        auto r = connection.exec(
            "SELECT substr(c.relname, length('plinth_volatility_') + 1), a.atthasmissing "
            "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attname = 'c' "
            "WHERE c.relnamespace = pg_my_temp_schema() AND c.relname LIKE 'plinth\\_volatility\\_%'");
        for (int row = 0; row < r.rows(); ++row) answers[defaults.at(std::stoul(r.text(row, 0)))] = r.text(row, 1) != "t";
    });
    return answers;
}

}  // namespace

model::DatabaseProbe database_probe(pg::Connection& connection) {
    model::DatabaseProbe probe;
    probe.have_rows = [&connection](const std::vector<std::string>& tables) {
        std::string sql;
        std::vector<std::optional<std::string>> params;
        for (const auto& t : tables) {
            params.emplace_back(t);
            sql += (sql.empty() ? "" : " UNION ALL ") + std::string("SELECT $") + std::to_string(params.size()) +
                   "::text, EXISTS (SELECT 1 FROM " + model::qualified(t) + ")";
        }
        std::map<std::string, bool> answers;
        auto result = connection.exec_params(sql, params);
        for (int r = 0; r < result.rows(); ++r) answers[result.text(r, 0)] = result.text(r, 1) == "t";
        return answers;
    };
    probe.count = [&connection](const std::string& t) {
        return std::stoll(connection.exec("SELECT count(*) FROM " + model::qualified(t)).text(0, 0));
    };
    probe.total_bytes = [&connection](const std::string& t) {
        return std::stoll(
            connection.exec_params("SELECT pg_total_relation_size($1::regclass)", {model::qualified(t)}).text(0, 0));
    };
    probe.server_defaults = [&connection](const std::vector<DeclaredDefault>& defaults) {
        return ask_server(connection, defaults);
    };
    probe.server_definitions = [&connection](const std::vector<DeclaredDefinition>& definitions) {
        return ask_definitions(connection, definitions);
    };
    probe.volatile_defaults = [&connection](const std::vector<DeclaredDefault>& defaults) {
        return ask_volatility(connection, defaults);
    };
    return probe;
}

}  // namespace plinth::introspect
