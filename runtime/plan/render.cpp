#include "plan/render.hpp"

#include <sstream>

namespace plinth::plan {

Hazard hazard(HazardKind kind, const std::string& table, const std::string& lock_mode) {
    switch (kind) {
        case HazardKind::catalog_only_type_change:
            return {kind, "no table rewrite: PostgreSQL only updates the catalog"};
        case HazardKind::rows_get_null:
            return {kind, "existing rows get NULL: their values are not generated from the volatile default"};
        case HazardKind::primary_key_blocks_writes:
            return {kind, "builds a unique index while blocking writes to " + table};
        case HazardKind::unique_blocks_writes:
            return {kind,
                    "builds a unique index while blocking writes to " + table + "; fails if existing rows are not unique"};
        case HazardKind::added_not_valid:
            return {kind, "checked for new rows at once; existing rows are validated after the commit"};
        case HazardKind::check_validation_scan:
            return {kind, "scans " + table + " without blocking writes"};
        case HazardKind::check_validation_may_fail:
            return {kind, "scans " + table + " without blocking writes; fails if existing rows violate it"};
        case HazardKind::foreign_key_validation_may_fail:
            return {kind, "scans " + table + " without blocking writes; fails if rows have no match"};
        case HazardKind::concurrent_index_build:
            return {kind,
                    "built CONCURRENTLY after the commit: does not block writes; retried on the next start if interrupted"};
        case HazardKind::invalid_index_dropped:
            return {kind, "the index was left invalid by an interrupted concurrent build and is rebuilt"};
        case HazardKind::index_differs:
            return {kind, "the index differs from its declaration (method, operator class or options) and is built "
                          "again; queries on " + table + " go without it until then"};
        case HazardKind::concurrent_index_rebuild:
            return {kind, "built CONCURRENTLY after the commit: does not block writes"};
        case HazardKind::locks_existing_table:
            return {kind, "locks " + table + " (" + lock_mode + ") until the migration commits: its " +
                              (lock_mode == "ACCESS EXCLUSIVE" ? "readers and writers wait" : "writers wait")};
    }
    return {kind, ""};
}

std::vector<std::string> Operation::hazard_texts() const {
    std::vector<std::string> texts;
    for (const auto& h : hazards) texts.push_back(h.text);
    return texts;
}

std::string render_not_done(const NotDone& item, NotDoneStyle style) {
    const std::string what = item.table + (item.object.empty() ? "" : " " + item.object) + ": " + item.reason;
    const std::string owner = item.plugin.empty() ? "" : "plugin \"" + item.plugin + "\", ";
    const bool by_hand = !item.manual_sql.empty();
    switch (style) {
        case NotDoneStyle::plan_entry:
            return std::string("- ") + (item.blocking ? "BLOCKING " : "") +
                   (item.plugin.empty() ? "" : "[" + item.plugin + "] ") + what + "\n" +
                   (by_hand ? "  by hand: " + item.manual_sql + ";\n" : "");
        case NotDoneStyle::report:
            return owner + "table " + what + (by_hand ? "\n    by hand: " + item.manual_sql : "");
        case NotDoneStyle::warning:
            return owner + "table " + what + (by_hand ? " (by hand: " + item.manual_sql + ")" : "");
        case NotDoneStyle::drift:
            return what;
    }
    return what;
}

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
            for (const auto& h : op.hazards) out << "-- hazard: " << h.text << "\n";
        }
    }
    if (!not_done.empty()) {
        out << "\nwill not do:\n";
        for (const auto& nd : not_done) out << render_not_done(nd, NotDoneStyle::plan_entry);
    }
    if (!notes.empty()) {
        out << "\nnotes:\n";
        for (const auto& note : notes) out << "- " << note << "\n";
    }
    return out.str();
}

}  // namespace plinth::plan
