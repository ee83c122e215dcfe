// Stage "load": a plugins folder -> one deep-copied model::Plugin per .so, or a precise refusal.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "model/schema.hpp"

namespace plinth::load {

// Why one file could not be used as a plugin. An expected outcome, so a value, not an exception.
struct Refusal {
    std::string file;
    std::string reason;
    std::string message() const { return file + ": " + reason; }
};

struct LoadResult {
    std::vector<model::Plugin> plugins;  // in file-name order
    std::vector<Refusal> refusals;       // in file-name order
};

// Loads every "*.so" directly inside `folder`, in sorted file-name order. Throws std::runtime_error
// when the folder itself cannot be read.
LoadResult load_folder(const std::filesystem::path& folder);

// Loads one library. On success `plugin` is filled and the library stays loaded through
// plugin.lifecycle.library; on refusal the library is unloaded again.
bool load_file(const std::filesystem::path& file, model::Plugin& plugin, Refusal& refusal);

}  // namespace plinth::load
