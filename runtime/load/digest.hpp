// A digest of what a plugin declares, as loaded: the memo key of the no-op start that loads no
// plugin in plinth's own process (pipeline::PluginsKey, docs/ARCHITECTURE.md "The plugins key").
#pragma once

#include <cstdint>

#include "model/schema.hpp"

namespace plinth::load {

// XXH3-64 over every field of `plugin` that validation, ordering or planning read: its name,
// version, schema, requirements, which lifecycle functions it has, and every table with all it
// declares. Two plugins with one digest are validated, ordered and planned alike. Left out: the
// file and the source locations, which only name places in messages, and the library handle.
std::uint64_t declaration_digest(const model::Plugin& plugin);

}  // namespace plinth::load
