// The descriptor fuzzer's work on one input, apart from libFuzzer's entry point, so that the unit
// tests replay the committed corpus and each input that once crashed, in every build.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace plinth::fuzz {

// Decodes `data` into one to three plinth_plugin_descriptor graphs (tables, columns, uniques,
// indexes, foreign keys, checks, name arrays and strings, each array in an allocation of its own
// exact size so that AddressSanitizer sees any read past it), copies each with load::copy_plugin,
// validates the copies together and orders what validation accepts.
struct DescriptorRun {
    std::size_t accepted = 0;           // descriptors the loader copied
    std::vector<std::string> refusals;  // the loader's reasons for the others
};
DescriptorRun run_descriptor_input(const std::uint8_t* data, std::size_t size);

}  // namespace plinth::fuzz
