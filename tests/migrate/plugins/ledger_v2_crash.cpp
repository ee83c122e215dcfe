// ledger 2.0, broken: adds a table, changes rows, then its upgrade step dereferences a null pointer.
#include "ledger.hpp"
static void upgrade(plinth::host h, std::string_view from) {
    h.execute("UPDATE ledger_entries SET amount = 0, legacy_amount = NULL");
    record_run(h, from, "2.0.0");
    *static_cast<volatile int*>(nullptr) = 1;
}
static plinth::plugin describe() {
    return plinth::plugin("ledger", "2.0.0")
        .table(ledger_entries())
        .table(ledger_upgrades())
        .table(plinth::table("ledger_notes", {uuid("id").primary_key(), text("body")}))
        .upgrade<&upgrade>();
}
PLINTH_PLUGIN(describe)
