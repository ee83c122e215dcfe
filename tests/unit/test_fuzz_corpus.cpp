#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
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
    const auto run = plinth::fuzz::run_descriptor_input(nullptr, 0);
    CHECK(run.accepted == 0);
    CHECK(run.refusals == std::vector<std::string>{"descriptor has a NULL plugin name"});
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
        accepted += plinth::fuzz::run_descriptor_input(bytes.data(), bytes.size()).accepted;
    }
    CHECK(files.size() >= 20);
    CHECK(accepted > 0);  // some inputs get past the loader into validation and ordering
}

// Found by the fuzzer in 12 000 runs (7 s) with the loader's stride cap taken out: a descriptor whose
// table array claims a stride far past 64 times plinth_table's size and a count of two. Without the
// cap the loader walked to the second element, far outside the array (issue 11's 1 GiB stride).
TEST_CASE("the fuzzer's input with a table stride past the cap is refused, not walked") {
    const std::vector<std::uint8_t> input = {0x11, 0x00, 0x01, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x9b, 0x00, 0x2a, 0x04, 0xf6};
    const auto run = plinth::fuzz::run_descriptor_input(input.data(), input.size());
    CHECK(run.accepted == 0);
    REQUIRE_FALSE(run.refusals.empty());
    CAPTURE(run.refusals);
    CHECK(std::any_of(run.refusals.begin(), run.refusals.end(), [](const std::string& reason) {
        return reason.find("tables struct_size") != std::string::npos &&
               reason.find("times the size in this plinth (corrupt descriptor?)") != std::string::npos;
    }));
}

// Found by the fuzzer in 34 s, replaying and extending the corpus: a string of a megabyte and one
// byte, and a pointer into it a few bytes on, which the loader accepts (under 1 MiB) as a column
// type; the validator's std::regex recursed once per character and overflowed the stack.
TEST_CASE("the fuzzer's input with a column type of almost a megabyte is validated, not a stack overflow") {
    const std::vector<std::uint8_t> input = {
        0x62, 0x6e, 0x60, 0x0b, 0x69, 0xff, 0xff, 0xa5, 0x35, 0x35, 0x35, 0x35, 0xf7, 0x00, 0x00, 0x00,
        0xa5, 0x35, 0x35, 0x35, 0x35, 0x00, 0x13, 0x93, 0x93, 0x00, 0x00, 0x00, 0x00, 0x35, 0x74, 0x13,
        0x93, 0x93, 0x40, 0x0b, 0x67, 0x63, 0x13, 0x0b, 0x69, 0x09, 0x41, 0x0b, 0x84, 0x63, 0x02, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0b, 0x0b, 0x00, 0x00, 0x00, 0x35, 0x74, 0x09, 0x41, 0x0b,
        0x51, 0x00, 0x00, 0x70, 0x2b, 0x67};
    // The bytes decode against the structs' sizes: since ABI 1.4 grew plinth_column they no longer
    // reach the validator, and the direct test of check_type on 300,000 bytes (test_validate.cpp)
    // holds the fix. This one holds that the input is decoded and judged, whatever its fate.
    const auto run = plinth::fuzz::run_descriptor_input(input.data(), input.size());
    CHECK(run.accepted + run.refusals.size() > 0);
}
