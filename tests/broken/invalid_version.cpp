// A version that is not UTF-8 (it would fail the journal's insert) and one with a control character.
#include "sdk_base.hpp"
static plinth::plugin describe() {
    return plinth::plugin("bad-version", "1.0\xff").table(widgets());
}
PLINTH_PLUGIN(describe)
