// libFuzzer's entry point (meson -Dfuzz=true); the work is in descriptor_input.cpp, which the unit
// tests also build to replay the corpus. README.md says how to run it.
#include <cstddef>
#include <cstdint>

#include "descriptor_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    plinth::fuzz::run_descriptor_input(data, size);
    return 0;
}
