// Where the build put the plugins the tests load; meson passes the folders in the environment.
#pragma once

#include <cstdlib>
#include <filesystem>
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

}  // namespace plinth::test
