// Stage "load": a plugins folder -> one deep-copied model::Plugin per .so, or a precise refusal.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
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

// Something wrong with a plugin that still loads: it is used, and the warning says what to fix.
struct Warning {
    std::string file;
    std::string text;
    std::string message() const { return file + ": " + text; }
};

struct LoadResult {
    std::vector<model::Plugin> plugins;  // in file-name order
    std::vector<Refusal> refusals;       // in file-name order
    std::vector<Warning> warnings;       // in file-name order, for loaded plugins only
};

// Loads every "*.so" directly inside `folder`, in sorted file-name order. An entry that is no
// regular file, itself or through its links (a folder, a FIFO, a dangling link, a loop of links),
// or that cannot be read is refused by name, and the scan goes on. A file reached a second
// time under another name (a symbolic or hard link) is refused, naming the first. Each plugin
// loaded is checked with check_exports. Throws std::runtime_error when the folder itself cannot be
// read. `screen`, when given, is asked about each regular file before it is loaded: a reason it
// returns refuses that file unloaded (the pipeline's load probe, pipeline/load_probe.hpp).
using Screen = std::function<std::optional<std::string>(const std::filesystem::path& file)>;
LoadResult load_folder(const std::filesystem::path& folder, const Screen& screen = {});

// Loads one library. On success `plugin` is filled. A library, once loaded, stays loaded for the
// life of the process, refused or not, and a file loaded before is not loaded again.
bool load_file(const std::filesystem::path& file, model::Plugin& plugin, Refusal& refusal);

// Whether this process has opened a plugin library (dlopen tried, whatever came of it): its
// constructors may have registered exit handlers or left output buffered that only exit() runs.
bool plugin_library_opened();

// What load_file does once the entry symbol has returned: checks the descriptor's header and
// deep-copies everything it points to into `plugin` (its file set to `file`, no library attached),
// or says why not in `refusal`. The descriptor fuzzer (tests/fuzz/) calls it on descriptors built in
// memory.
bool copy_plugin(const plinth_plugin_descriptor& descriptor, const std::string& file, model::Plugin& plugin,
                 Refusal& refusal);

// A digest of everything the descriptor holds, read as copy_plugin reads it: the memo key of the
// no-op start that loads no plugin in plinth's own process (pipeline::plugins_key). The load probe's
// child computes it instead of copying; copy_plugin records it in model::Plugin::digest. nullopt
// where copy_plugin would refuse the descriptor's shape (its header, a NULL array, a count past its
// limit, a string too long).
std::optional<std::uint64_t> descriptor_digest(const plinth_plugin_descriptor& descriptor);

// A warning when a plugin exports dynamic symbols besides its entry symbol, naming how many and the
// build flags that hide them. Such exports take part in symbol resolution across the process (the
// C++ runtime's unique symbols even under RTLD_LOCAL), so two plugins' inline functions or
// template instantiations can be bound to one copy, whichever version it is. nullopt when the entry
// symbol is the only one, or when the file does not say (no section headers).
std::optional<Warning> check_exports(const std::filesystem::path& file);

}  // namespace plinth::load
