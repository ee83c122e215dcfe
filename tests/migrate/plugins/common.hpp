// Shared pieces of the migrator's test plugins.
#pragma once
#include <plinth/plinth.hpp>

using namespace plinth::columns;
using plinth::fk_action;
using plinth::index;

inline plinth::plugin widgets_plugin(const char* version) {
    return plinth::plugin("widgets", version).requires_plugin("core");
}
