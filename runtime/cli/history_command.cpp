#include <iostream>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "apply/journal.hpp"
#include "cli/commands.hpp"
#include "cli/journal_json.hpp"

namespace plinth::cli {
namespace {

nlohmann::json to_json(const apply::MigrationRecord& m) {
    using nlohmann::json;
    json plugins = json::array();
    for (const auto& p : m.plugins) {
        json statements = json::array();
        for (const auto& s : p.statements) statements.push_back({{"sql", s.sql}, {"ms", s.ms ? json(*s.ms) : json()}});
        plugins.push_back({{"name", p.name}, {"version", p.version},
                           {"previous_version", p.previous_version.empty() ? json() : json(p.previous_version)},
                           {"schema_hash", p.schema_hash}, {"statements", statements},
                           {"upgraded_from", p.upgraded_from.empty() ? json() : json(p.upgraded_from)}});
    }
    json after = json::array();
    for (const auto& w : m.after_commit) after.push_back(after_commit_json(w));
    return {{"id", m.id}, {"applied_at", m.applied_at}, {"plinth_version", m.plinth_version},
            {"statements", m.statements}, {"duration_ms", m.duration_ms}, {"plugins", plugins},
            {"after_commit", after}, {"notes", m.notes}};
}

void print_text(const apply::MigrationRecord& m, std::ostream& out) {
    out << "migration " << m.id << " at " << m.applied_at << " by plinth " << m.plinth_version << ": " << m.statements
        << (m.statements == 1 ? " statement" : " statements") << " in one transaction ("
        << nlohmann::json(m.duration_ms).dump() << " ms)\n";
    for (const auto& p : m.plugins) {
        out << "  " << p.name << " " << p.version;
        if (p.previous_version.empty())
            out << " (first recorded)";
        else if (p.previous_version != p.version)
            out << " (was " << p.previous_version << ")";
        if (!p.upgraded_from.empty()) out << ", upgrade step run from " << p.upgraded_from;
        out << ", schema hash " << p.schema_hash << ": " << p.statements.size()
            << (p.statements.size() == 1 ? " statement\n" : " statements\n");
        for (const auto& s : p.statements) out << "    " << s.sql << "\n";
    }
    for (const auto& w : m.after_commit) {
        out << "  after the commit, plugin " << w.plugin << ": " << w.summary << ": ";
        if (w.error.empty())
            out << "done in " << nlohmann::json(w.ms).dump() << " ms\n";
        else
            out << "failed (retried on the next start): " << w.error << "\n";
    }
    for (const auto& note : m.notes) out << "  note: " << note << "\n";
}

}  // namespace

int history(const HistoryOptions& o) {
    auto session = database::DatabaseSession::open(o.database, *spdlog::default_logger());
    auto connection = session.connect();
    apply::Journal journal(connection, o.database.journal_schema);
    const auto records =
        journal.exists() ? journal.history(o.plugin, o.limit) : std::vector<apply::MigrationRecord>{};
    if (o.format == "json") {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& m : records) out.push_back(to_json(m));
        std::cout << out.dump(2) << "\n";
    } else if (records.empty()) {
        std::cout << (!journal.exists() ? "no migrations recorded: plinth has not migrated this database\n"
                      : o.plugin.empty() ? "no migrations recorded\n"
                                         : "no migration recorded plugin \"" + o.plugin + "\"\n");
    } else {
        for (const auto& m : records) print_text(m, std::cout);
    }
    return 0;
}

}  // namespace plinth::cli
