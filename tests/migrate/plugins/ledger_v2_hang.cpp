// ledger 2.0, broken: its upgrade step changes rows, then never returns (well past any test's
// time bound; the runner kills it first).
#include <chrono>
#include <thread>
#include "ledger.hpp"
static void upgrade(plinth::host h, std::string_view from) {
    record_run(h, from, "2.0.0");
    std::this_thread::sleep_for(std::chrono::minutes(5));
}
static plinth::plugin describe() { return ledger("2.0.0").upgrade<&upgrade>(); }
PLINTH_PLUGIN(describe)
