// ledger 1.0: amounts as text. Its step never runs: nothing comes before 1.0.
#include "ledger.hpp"
static void upgrade(plinth::host h, std::string_view from) { record_run(h, from, "1.0.0"); }
static plinth::plugin describe() { return ledger("1.0.0").upgrade<&upgrade>(); }
PLINTH_PLUGIN(describe)
