// Where the build put the plugins the tests load, and their sources; meson passes the folders in
// the environment.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace plinth::test {

inline std::filesystem::path env_path(const char* name) {
    const char* value = std::getenv(name);
    if (!value || !*value) throw std::runtime_error(std::string(name) + " is not set; run the tests with meson test");
    return value;
}
inline std::filesystem::path broken_dir() { return env_path("PLINTH_TEST_BROKEN_DIR"); }
inline std::filesystem::path plugins_dir() { return env_path("PLINTH_TEST_PLUGINS_DIR"); }
inline std::filesystem::path plinth_exe() { return env_path("PLINTH_EXE"); }
inline std::filesystem::path broken_source_dir() { return env_path("PLINTH_TEST_BROKEN_SOURCE_DIR"); }

// The number of the one line of tests/broken/`file` whose trailing comment `// @a @b` names `marker`,
// so that a test names a source line without a number that shifts when the file is edited.
inline unsigned marked_line(const std::string& file, const std::string& marker) {
    std::ifstream in(broken_source_dir() / file);
    if (!in) throw std::runtime_error("cannot read tests/broken/" + file);
    unsigned found = 0, number = 0;
    for (std::string line; std::getline(in, line);) {
        ++number;
        const auto comment = line.rfind("// ");
        if (comment == std::string::npos) continue;
        std::istringstream words(line.substr(comment + 3));
        for (std::string word; words >> word;) {
            if (word != marker) continue;
            if (found) throw std::runtime_error(file + " has the marker " + marker + " twice");
            found = number;
        }
    }
    if (!found) throw std::runtime_error(file + " has no marker " + marker);
    return found;
}

}  // namespace plinth::test
