// The ledger plugin's versions for the upgrade step scenarios: the same tables in every version
// (entries keeps amounts as text in 1.0 and as an integer from 2.0 on, both columns declared
// throughout), so that only the version and the step differ. Each step records that it ran in
// ledger_upgrades, so the tests can count its runs.
#pragma once
#include <plinth/plinth.hpp>

using namespace plinth::columns;

inline plinth::table ledger_entries() {
    return plinth::table("ledger_entries", {uuid("id").primary_key().default_random(), text("legacy_amount"),
                                            integer("amount")});
}

inline plinth::table ledger_upgrades() {
    return plinth::table("ledger_upgrades", {uuid("id").primary_key().default_random(), text("from_version"),
                                             text("to_version")});
}

inline plinth::plugin ledger(const char* version) {
    return plinth::plugin("ledger", version).table(ledger_entries()).table(ledger_upgrades());
}

// Records the run, in the migration's transaction like everything the step does.
inline void record_run(plinth::host h, std::string_view from, const char* to) {
    h.execute("INSERT INTO ledger_upgrades (from_version, to_version) VALUES ($1, $2)", {std::string(from), to});
}
