// Shared pieces for the broken plugins written with the C++ SDK.
//
// A comment such as `// @fk` marks the line the compiler records for a declaration, which the tests
// find by that marker instead of by number (one line may carry several: `// @table @fk`). A marked
// declaration is one statement on one line: compilers record a call that spans lines differently
// (GCC where a constructor's arguments close, clang where the statement starts).
#pragma once
#include <plinth/plinth.hpp>

using namespace plinth::columns;
using plinth::fk_action;
using plinth::index;

inline plinth::table widgets() {
    return plinth::table("widgets", {uuid("id").primary_key().default_random(), text("label")});
}
