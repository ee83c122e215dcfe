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

// Loads every "*.so" directly inside `folder`, in sorted file-name order. A file reached a second
// time under another name (a symbolic or hard link) is refused, naming the first. Throws
// std::runtime_error when the folder itself cannot be read.
LoadResult load_folder(const std::filesystem::path& folder);

// Loads one library. On success `plugin` is filled. A library, once loaded, stays loaded for the
// life of the process, refused or not, and a file loaded before is not loaded again.
bool load_file(const std::filesystem::path& file, model::Plugin& plugin, Refusal& refusal);

}  // namespace plinth::load
