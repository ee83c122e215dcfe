#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "../fuzz/descriptor_input.hpp"
#include "paths.hpp"

namespace {

std::vector<std::uint8_t> read_bytes(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    REQUIRE(in);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("the descriptor fuzzer's decoder: an empty input is one descriptor, refused for its NULL name") {
    CHECK(plinth::fuzz::run_descriptor_input(nullptr, 0) == 0);
}

// The fuzzer's committed corpus (tests/fuzz/corpus/), replayed in every build so the harness and
// what it found cannot rot; under -Dsanitize=true a read past any array is a report here.
TEST_CASE("every input of the descriptor fuzzer's corpus is copied, validated and ordered without a crash") {
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(plinth::test::env_path("PLINTH_TEST_FUZZ_CORPUS_DIR")))
        files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    std::size_t accepted = 0;
    for (const auto& file : files) {
        CAPTURE(file);
        const auto bytes = read_bytes(file);
        accepted += plinth::fuzz::run_descriptor_input(bytes.data(), bytes.size());
    }
    CHECK(files.size() >= 20);
    CHECK(accepted > 0);  // some inputs get past the loader into validation and ordering
}
