// Shared pieces for the broken plugins written with the C++ SDK.
#pragma once
#include <plinth/plinth.hpp>

using namespace plinth::columns;
using plinth::fk_action;
using plinth::index;

inline plinth::table widgets() {
    return plinth::table("widgets", {uuid("id").primary_key().default_random(), text("label")});
}
