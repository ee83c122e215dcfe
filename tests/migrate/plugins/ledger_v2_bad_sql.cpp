// ledger 2.0, broken: a statement of its upgrade step fails outside any transaction of its own; the
// step catches the error and reports success anyway. The migration must fail all the same.
#include "ledger.hpp"
static void upgrade(plinth::host h, std::string_view from) {
    record_run(h, from, "2.0.0");
    try {
        h.execute("UPDATE ledger_entries SET amount = legacy_amount::integer + 'x'");
    } catch (const plinth::db_error&) {
        h.warn("ignoring the failed statement");
    }
}
static plinth::plugin describe() { return ledger("2.0.0").upgrade<&upgrade>(); }
PLINTH_PLUGIN(describe)
