#include <sstream>

#include "plan/plan.hpp"

namespace plinth::plan {

std::string Plan::text() const {
    std::ostringstream out;
    std::size_t in_tx = 0;
    for (const auto& op : operations) in_tx += op.phase == Phase::transaction;
    if (operations.empty()) {
        out << "the database is up to date: nothing to apply\n";
    } else {
        out << "plan: " << operations.size() << " operation" << (operations.size() == 1 ? "" : "s") << " (" << in_tx
            << " in one transaction, " << operations.size() - in_tx << " after the commit)\n";
        std::size_t n = 0;
        for (const auto& op : operations) {
            out << "\n" << ++n << ". [" << op.plugin << "] " << op.summary
                << (op.phase == Phase::after_commit ? " -- after the commit" : "") << "\n";
            out << op.sql << ";\n";
            for (const auto& h : op.hazards) out << "-- hazard: " << h << "\n";
        }
    }
    if (!not_done.empty()) {
        out << "\nwill not do:\n";
        for (const auto& nd : not_done) {
            out << "- " << (nd.blocking ? "BLOCKING " : "") << (nd.plugin.empty() ? "" : "[" + nd.plugin + "] ") << nd.table
                << (nd.object.empty() ? "" : " " + nd.object) << ": " << nd.reason << "\n";
            if (!nd.manual_sql.empty()) out << "  by hand: " << nd.manual_sql << ";\n";
        }
    }
    if (!notes.empty()) {
        out << "\nnotes:\n";
        for (const auto& note : notes) out << "- " << note << "\n";
    }
    return out.str();
}

}  // namespace plinth::plan
