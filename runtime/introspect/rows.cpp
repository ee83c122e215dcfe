#include "introspect/rows.hpp"

namespace plinth::introspect {
namespace {

// "schema.table" as a quoted SQL name; the names come from validated declarations.
std::string quoted_table(const std::string& qualified) {
    const auto dot = qualified.find('.');
    return "\"" + qualified.substr(0, dot) + "\".\"" + qualified.substr(dot + 1) + "\"";
}

}  // namespace

RowProbe row_probe(pg::Connection& connection) {
    RowProbe probe;
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
    return probe;
}

}  // namespace plinth::introspect
