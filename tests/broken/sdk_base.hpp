// Shared pieces for the broken plugins written with the C++ SDK.
//
// A comment such as `// @fk` marks the line the compiler records for a declaration, which the tests
// find by that marker instead of by number. GCC records a call where it starts, but a constructor
// call such as plinth::table(...) or index(...) where its arguments close: `}));  // @table`.
#pragma once
#include <plinth/plinth.hpp>

using namespace plinth::columns;
using plinth::fk_action;
using plinth::index;

inline plinth::table widgets() {
    return plinth::table("widgets", {uuid("id").primary_key().default_random(), text("label")});
}
