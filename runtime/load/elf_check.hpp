// A look at a file before dlopen sees it. dlopen maps the segments a header promises; a file cut
// short then faults with SIGBUS on first touch, which no error handling can catch. Reading the
// headers first turns that crash into a refusal. Only the headers and the sections asked for are
// read, never the whole file.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace plinth::load {

// A symbol a file defines and exports.
struct ElfSymbol {
    std::string name;
    unsigned char type;  // STT_*
};

// All the loader asks of a file, from one opening of it: `problem` is nullopt when the file is a
// complete ELF shared object for this machine, else why not; for a file it accepts, `symbols` are
// those it defines and exports, as exported_symbols says (nullopt when the file does not say).
struct ElfFacts {
    std::optional<std::string> problem;
    std::optional<std::vector<ElfSymbol>> symbols;
};
ElfFacts inspect_elf_file(const std::filesystem::path& file);

// The names of the symbols the file defines and exports (its .dynsym entries that are defined and
// not local), in table order; nullopt when it cannot tell (no section headers, or a malformed
// table). Call it on a file inspect_elf_file accepted.
std::optional<std::vector<std::string>> exported_symbols(const std::filesystem::path& file);

// nullopt when `name` is a function among the symbols inspect_elf_file read (STT_FUNC or
// STT_GNU_IFUNC), or when they do not say (no section headers, or no such symbol there); else what
// the symbol is instead, e.g. "symbol plinth_plugin_entry_v1 is a data object, not a function".
std::optional<std::string> check_function_symbol(const std::optional<std::vector<ElfSymbol>>& symbols,
                                                 const std::string& name);

}  // namespace plinth::load
