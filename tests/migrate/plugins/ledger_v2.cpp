// ledger 2.0: the same tables; its upgrade step moves the amounts from text to the integer column.
// A statement that fails inside its own transaction (a savepoint) is rolled back and the step goes
// on: only that savepoint is lost.
#include "ledger.hpp"
static void upgrade(plinth::host h, std::string_view from) {
    h.info("moving amounts from legacy_amount, upgrading from " + std::string(from));
    {
        plinth::transaction attempt(h);
        try {
            attempt.execute("UPDATE ledger_entries SET amount = legacy_amount::integer / 0");
        } catch (const plinth::db_error&) {
            attempt.rollback();
        }
    }
    plinth::transaction tx(h);
    const auto moved = tx.execute(
        "UPDATE ledger_entries SET amount = legacy_amount::integer, legacy_amount = NULL WHERE legacy_amount IS NOT NULL");
    tx.commit();
    h.info("moved " + std::to_string(moved) + " amounts");
    record_run(h, from, "2.0.0");
}
static plinth::plugin describe() { return ledger("2.0.0").upgrade<&upgrade>(); }
PLINTH_PLUGIN(describe)
