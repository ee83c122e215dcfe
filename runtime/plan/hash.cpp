#include "plan/hash.hpp"

#include <cstdio>

#include <xxhash.h>

#include "model/text.hpp"
#include "model/types.hpp"
#include "plan/plan.hpp"

namespace plinth::plan {
namespace {

// Bumped whenever the planner would plan differently for the same declarations, so a fast-path
// start does not trust a fingerprint taken under older rules.
constexpr const char* kPlannerVersion = "plinth-plan-2";

}  // namespace

std::string hash_hex(std::string_view text) {
    char buffer[17];
    std::snprintf(buffer, sizeof buffer, "%016llx", static_cast<unsigned long long>(XXH3_64bits(text.data(), text.size())));
    return buffer;
}

std::string schema_hash(const model::Plugin& p) {
    // Unit and record separators keep fields from running into each other.
    std::string s = p.name + '\x1f' + p.schema + '\x1e';
    auto list = [&](const std::vector<std::string>& items) { s += model::join(items, "\x1f") + '\x1e'; };
    for (const auto& t : p.tables) {
        s += "T" + t.name + '\x1e';
        // ABI 1.4 renames; left out when unused, so the hashes of other declarations do not change.
        if (t.renamed_from) s += "R" + *t.renamed_from + '\x1e';
        for (const auto& c : t.columns) {
            s += "C" + c.name + '\x1f' + model::canonical_type(c.type) + '\x1f' + c.default_sql.value_or("\x01") + '\x1f' +
                 (c.not_null ? "1" : "0") +
                 // ABI 1.4; left out when unused, so the hashes of columns without them do not change.
                 (c.backfill ? "\x1f" "B" + *c.backfill : "") + (c.using_expression ? "\x1f" "U" + *c.using_expression : "") +
                 '\x1e';
            if (c.renamed_from) s += "R" + *c.renamed_from + '\x1e';
        }
        s += "P" + t.primary_key_name + '\x1f';
        list(t.primary_key);
        for (const auto& u : t.uniques) { s += "U" + u.name + '\x1f'; list(u.columns); }
        for (const auto& i : t.indexes) {
            s += "I" + i.name + '\x1f' + (i.unique ? "1" : "0") + i.method + '\x1f' + i.predicate.value_or("\x01") + '\x1f';
            list(i.keys);
            // ABI 1.3; left out when unused, so the hashes of indexes without them do not change.
            if (!i.opclasses.empty()) { s += "O"; list(i.opclasses); }
            for (const auto& [name, value] : i.options) s += "W" + name + '\x1f' + value + '\x1e';
        }
        for (const auto& f : t.foreign_keys) {
            s += "F" + f.name + '\x1f' + f.ref_schema + '\x1f' + f.ref_table + '\x1f' + model::to_sql(f.on_delete) + '\x1f' +
                 model::to_sql(f.on_update) + '\x1f';
            list(f.columns);
            list(f.ref_columns);
        }
        for (const auto& c : t.checks) s += "K" + c.name + '\x1f' + c.expression + '\x1e';
    }
    return hash_hex(s);
}

std::string desired_hash(const std::vector<model::Plugin>& plugins, const PlanOptions& options) {
    std::string s = kPlannerVersion;
    for (const auto& p : plugins) {
        s += '\x1e' + p.name + '\x1f' + schema_hash(p);
        // A plugin with an upgrade step needs the slow path when only its version changed, so that
        // the step runs; for the others a version alone changes nothing in the database.
        if (p.lifecycle.upgrade) s += "\x1fU" + p.version;
    }
    for (const auto& h : options.allowed_hazards) s += "\x1e" "allow\x1f" + h;
    return hash_hex(s);
}

}  // namespace plinth::plan
