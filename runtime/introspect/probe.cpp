#include "introspect/probe.hpp"

#include <libpq-fe.h>

namespace plinth::introspect {
namespace {

// "schema.table" as a quoted SQL name; the names come from validated declarations.
std::string quoted_table(const std::string& qualified) {
    const auto dot = qualified.find('.');
    return "\"" + qualified.substr(0, dot) + "\".\"" + qualified.substr(dot + 1) + "\"";
}

std::map<DeclaredDefault, std::optional<std::string>> ask_server(pg::Connection& connection,
                                                                  const std::vector<DeclaredDefault>& defaults) {
    std::map<DeclaredDefault, std::optional<std::string>> answers;
    for (const auto& d : defaults) answers[d] = std::nullopt;
    if (defaults.empty()) return answers;
    const bool in_transaction = PQtransactionStatus(connection.native()) == PQTRANS_INTRANS;
    connection.exec(in_transaction ? "SAVEPOINT plinth_default_probe" : "BEGIN");
    try {
        std::string columns;
        for (std::size_t i = 0; i < defaults.size(); ++i)
            columns += (i ? ", c" : "c") + std::to_string(i) + " " + defaults[i].first + " DEFAULT " + defaults[i].second;
        // One statement only (extended protocol), like every statement built from declarations.
        connection.exec_params("CREATE TEMPORARY TABLE plinth_default_probe (" + columns + ")", {});
        auto r = connection.exec(
            "SELECT a.attnum, pg_get_expr(d.adbin, d.adrelid) FROM pg_catalog.pg_attrdef d "
            "JOIN pg_catalog.pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum "
            "WHERE d.adrelid = 'pg_temp.plinth_default_probe'::regclass");
        for (int row = 0; row < r.rows(); ++row)
            answers[defaults.at(std::stoul(r.text(row, 0)) - 1)] = r.text(row, 1);
    } catch (const pg::Error&) {
        // A default the server rejects: the plan compares as written, and applying it reports the error.
    }
    connection.exec(in_transaction ? "ROLLBACK TO SAVEPOINT plinth_default_probe" : "ROLLBACK");
    return answers;
}

}  // namespace

DatabaseProbe database_probe(pg::Connection& connection) {
    DatabaseProbe probe;
    probe.have_rows = [&connection](const std::vector<std::string>& tables) {
        std::string sql;
        std::vector<std::optional<std::string>> params;
        for (const auto& t : tables) {
            params.emplace_back(t);
            sql += (sql.empty() ? "" : " UNION ALL ") + std::string("SELECT $") + std::to_string(params.size()) +
                   "::text, EXISTS (SELECT 1 FROM " + quoted_table(t) + ")";
        }
        std::map<std::string, bool> answers;
        auto result = connection.exec_params(sql, params);
        for (int r = 0; r < result.rows(); ++r) answers[result.text(r, 0)] = result.text(r, 1) == "t";
        return answers;
    };
    probe.count = [&connection](const std::string& t) {
        return std::stoll(connection.exec("SELECT count(*) FROM " + quoted_table(t)).text(0, 0));
    };
    probe.server_defaults = [&connection](const std::vector<DeclaredDefault>& defaults) {
        return ask_server(connection, defaults);
    };
    return probe;
}

}  // namespace plinth::introspect
