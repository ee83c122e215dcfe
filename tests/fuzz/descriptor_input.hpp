// The descriptor fuzzer's work on one input, apart from libFuzzer's entry point, so that the unit
// tests replay the committed corpus and each input that once crashed, in every build.
#pragma once

#include <cstddef>
#include <cstdint>

namespace plinth::fuzz {

// Decodes `data` into one to three plinth_plugin_descriptor graphs (tables, columns, uniques,
// indexes, foreign keys, checks, name arrays and strings, each array in an allocation of its own
// exact size so that AddressSanitizer sees any read past it), copies each with load::copy_plugin
// and validates the copies together. Returns how many descriptors the loader accepted.
std::size_t run_descriptor_input(const std::uint8_t* data, std::size_t size);

}  // namespace plinth::fuzz
