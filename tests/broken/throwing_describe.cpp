// The describe function throws: the SDK turns that into a NULL descriptor, never a crash.
#include <stdexcept>
#include "sdk_base.hpp"
static plinth::plugin describe() { throw std::runtime_error("cannot describe"); }
PLINTH_PLUGIN(describe)
