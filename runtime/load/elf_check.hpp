// A look at a file before dlopen sees it. dlopen maps the segments a header promises; a file cut
// short then faults with SIGBUS on first touch, which no error handling can catch. Reading the
// headers first turns that crash into a refusal.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace plinth::load {

// nullopt when the file is a complete ELF shared object for this machine; else why not.
std::optional<std::string> check_elf_file(const std::filesystem::path& file);

}  // namespace plinth::load
