#include "plan/render.hpp"

#include <sstream>

namespace plinth::plan {

Hazard hazard(HazardKind kind, const std::string& table, const std::string& lock_mode, const std::string& size) {
    switch (kind) {
        case HazardKind::added_for_backfill:
            return {kind, "added without NOT NULL and without a default: no table rewrite; existing rows stay NULL "
                          "until the backfill after the commit fills them"};
        case HazardKind::backfill_batches:
            return {kind, "fills the existing rows of " + table + " after the commit, one short transaction per batch "
                          "of primary keys with a pause between: a writer waits at most for one batch; journaled, so "
                          "it resumes where it stopped after a crash"};
        case HazardKind::not_null_online:
            return {kind, "adds CHECK (... IS NOT NULL) NOT VALID, fills rows written meanwhile, validates it without "
                          "blocking writes, then SET NOT NULL uses the check instead of a scan and the check is "
                          "dropped; fails if a row is still NULL"};
        case HazardKind::table_rewrite:
            return {kind, "rewrites " + table + " (" + size + ") holding ACCESS EXCLUSIVE until the commit: its "
                          "readers and writers wait; allowed by --allow-hazard table-rewrite"};
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
        case HazardKind::not_null_relaxed:
            return {kind, "the plugin no longer declares this NOT NULL column without a default: NOT NULL is dropped so "
                          "that its inserts keep working (catalog only: no row is changed, nothing is lost)"};
        case HazardKind::renamed:
            return {kind, "catalog only, no row is touched; an older version of the plugin still running elsewhere "
                          "loses the old name: its statements naming it fail from the commit on"};
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

std::string differences_headline(std::size_t count) {
    return "the database is in sync as far as plinth goes: nothing to apply; it differs in " + std::to_string(count) +
           (count == 1 ? " way" : " ways") + " plinth leaves alone (see \"will not do\")";
}

std::string Plan::text() const {
    std::ostringstream out;
    std::size_t in_tx = 0;
    for (const auto& op : operations) in_tx += op.phase == Phase::transaction;
    if (operations.empty() && blocked()) {
        std::size_t blocking = 0;
        for (const auto& nd : not_done) blocking += nd.blocking;
        out << "the migration is blocked: " << blocking << " BLOCKING item" << (blocking == 1 ? "" : "s")
            << " under \"will not do\" must be settled first\n";
    } else if (!has_operations() && !not_done.empty()) {
        out << differences_headline(not_done.size()) << "\n";
    } else if (!has_operations()) {
        out << "the database is up to date: nothing to apply\n";
    } else if (operations.empty()) {
        out << "plan: no statements; " << upgrades.size() << " upgrade step" << (upgrades.size() == 1 ? "" : "s")
            << " in one transaction\n";
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
    if (!upgrades.empty()) {
        out << "\nupgrade steps (plugin code, in the transaction after the statements):\n";
        for (const auto& u : upgrades) out << "- [" << u.plugin << "] from version " << u.from_version << " to " << u.to_version << "\n";
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

namespace {

// A statement plinth runs after its commit, as it must run inside the script's one transaction:
// CREATE [UNIQUE] INDEX CONCURRENTLY and DROP INDEX CONCURRENTLY lose the CONCURRENTLY.
std::string in_one_transaction(std::string sql) {
    const std::string concurrently = "INDEX CONCURRENTLY ";
    for (auto at = sql.find(concurrently); at != std::string::npos; at = sql.find(concurrently, at))
        sql.replace(at, concurrently.size(), "INDEX ");
    return sql;
}

// Each line of `text` as an SQL comment.
std::string commented(const std::string& text) {
    std::string out;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) out += "-- " + line + "\n";
    return out;
}

}  // namespace

std::string Plan::sql_script() const {
    std::ostringstream out;
    out << "-- plinth plan as one script; review it, then run: psql -1 -v ON_ERROR_STOP=1 -f THIS_FILE\n"
           "-- It does not write plinth's journal: the next plinth migrate finds the schema in place and records it.\n";
    if (operations.empty()) out << "-- the database is up to date: nothing to apply\n";
    std::size_t n = 0;
    for (const auto& op : operations) {
        out << "\n-- " << ++n << ". [" << op.plugin << "] " << op.summary << "\n";
        if (op.phase == Phase::after_commit)
            out << "-- plinth runs this after its commit, CONCURRENTLY where it builds an index; in this one\n"
                   "-- transaction it holds a lock that blocks writes to the table until the end.\n";
        for (const auto& h : op.hazards) out << "-- hazard: " << h.text << "\n";
        out << (op.phase == Phase::after_commit ? in_one_transaction(op.sql) : op.sql) << ";\n";
    }
    for (const auto& u : upgrades)
        out << "\n-- plinth migrate also runs the upgrade step of plugin " << u.plugin << " (from version " << u.from_version
            << " to " << u.to_version << "), plugin code this script cannot run\n";
    if (!not_done.empty()) {
        out << "\n-- will not do (left for a person):\n";
        for (const auto& nd : not_done) out << commented(render_not_done(nd, NotDoneStyle::plan_entry));
    }
    if (!notes.empty()) {
        out << "\n-- notes:\n";
        for (const auto& note : notes) out << commented("- " + note);
    }
    return out.str();
}

}  // namespace plinth::plan
