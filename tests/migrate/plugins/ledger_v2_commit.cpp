// ledger 2.0, broken: its upgrade step tries to commit the migration's transaction by itself, then
// ignores the refusal and returns success. The refusal is all that happens; the step's data
// changes and the schema commit together, once.
#include "ledger.hpp"
static void upgrade(plinth::host h, std::string_view from) {
    try {
        h.execute("/* early */ COMMIT");
    } catch (const plinth::db_error& e) {
        h.warn(std::string("refused as it should be: ") + e.what());
    }
    record_run(h, from, "2.0.0");
}
static plinth::plugin describe() { return ledger("2.0.0").upgrade<&upgrade>(); }
PLINTH_PLUGIN(describe)
