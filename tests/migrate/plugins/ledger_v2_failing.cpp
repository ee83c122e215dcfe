// ledger 2.0, broken: adds a column, changes rows, then its upgrade step fails. Nothing of it may
// stay: not the column, not the rows it changed.
#include <stdexcept>
#include "ledger.hpp"
static void upgrade(plinth::host h, std::string_view from) {
    h.execute("UPDATE ledger_entries SET amount = 0, legacy_amount = NULL");
    record_run(h, from, "2.0.0");
    throw std::runtime_error("cannot convert amount \"12x\": not a number");
}
static plinth::plugin describe() {
    return plinth::plugin("ledger", "2.0.0")
        .table(ledger_entries().check("ledger_entries_amount_check", "amount >= 0"))
        .table(ledger_upgrades())
        .table(plinth::table("ledger_notes", {uuid("id").primary_key(), text("body")}))
        .upgrade<&upgrade>();
}
PLINTH_PLUGIN(describe)
