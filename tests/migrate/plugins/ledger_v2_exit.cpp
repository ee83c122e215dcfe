// ledger 2.0, broken: its upgrade step changes rows, then ends its process with exit(3).
#include <cstdlib>
#include "ledger.hpp"
static void upgrade(plinth::host h, std::string_view from) {
    record_run(h, from, "2.0.0");
    std::exit(3);
}
static plinth::plugin describe() { return ledger("2.0.0").upgrade<&upgrade>(); }
PLINTH_PLUGIN(describe)
