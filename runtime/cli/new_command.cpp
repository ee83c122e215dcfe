// `plinth new NAME`: a working out-of-tree plugin to start from, built against the installed SDK.
#include <fstream>
#include <iostream>
#include <regex>
#include <stdexcept>

#include "cli/commands.hpp"

namespace plinth::cli {
namespace {

// Every "@NAME@" and "@TABLE@" in a template, replaced.
std::string fill(std::string text, const std::string& name, const std::string& table) {
    for (const auto& [marker, value] : {std::pair<std::string, std::string>{"@NAME@", name}, {"@TABLE@", table}}) {
        for (auto at = text.find(marker); at != std::string::npos; at = text.find(marker, at + value.size()))
            text.replace(at, marker.size(), value);
    }
    return text;
}

constexpr const char* kSource = R"TEMPLATE(// @NAME@: a plinth plugin. Its schema is declared in describe(); plinth creates it before start.
#include <plinth/plinth.hpp>

#include <string>

namespace {

using namespace plinth::columns;

// The plugin's behaviour. Each of init, start and stop is optional; plinth calls them in order.
class Plugin {
public:
    void start(plinth::host h) {
        const auto rows = h.query("SELECT count(*) FROM @TABLE@", {});
        h.info("@NAME@ started; @TABLE@ has " + std::string(*rows[0][0]) + " rows");
    }
    void stop(plinth::host h) { h.info("@NAME@ stopped"); }
};

plinth::plugin describe() {
    return plinth::plugin("@NAME@", "0.1.0")
        .table(plinth::table("@TABLE@", {
            uuid("id").primary_key().default_random(),
            text("title").not_null(),
            boolean("done").default_value(false),
            timestamp("created_at").default_now(),
        }))
        .runs<Plugin>();
}

}  // namespace

PLINTH_PLUGIN(describe)
)TEMPLATE";

constexpr const char* kMeson = R"TEMPLATE(# Builds @NAME@.so against the installed plinth SDK (found through pkg-config).
project('@NAME@', 'cpp', default_options : ['cpp_std=c++20', 'buildtype=debugoptimized'])

# plinth-sdk brings the headers, hidden visibility and the export map.
shared_module('@NAME@', '@NAME@.cpp', name_prefix : '', dependencies : dependency('plinth-sdk'))
)TEMPLATE";

constexpr const char* kCMake = R"TEMPLATE(# Builds @NAME@.so against the installed plinth SDK (its CMake package).
cmake_minimum_required(VERSION 3.16)
project(@NAME@ LANGUAGES CXX)

find_package(plinth-sdk REQUIRED)
# C++20, hidden visibility, the export map, and the output name @NAME@.so.
plinth_add_plugin(@NAME@ SOURCES @NAME@.cpp)
)TEMPLATE";

constexpr const char* kReadme = R"TEMPLATE(# @NAME@

A plinth plugin. It owns one table, `@TABLE@`, and logs a line when it starts and stops.

Build it with meson (the SDK is found through pkg-config):

    meson setup build && ninja -C build

or with CMake:

    cmake -S . -B build-cmake && cmake --build build-cmake

or with one command:

    g++ -std=c++20 -shared -fPIC -fvisibility=hidden @NAME@.cpp -o @NAME@.so $(pkg-config --cflags --libs plinth-sdk)

Then check it, and run it next to the shipped plugins:

    plinth check --plugins build
    plinth run --plugins build --plugins "$(pkg-config --variable=plugindir plinth-sdk)"

`plinth describe` shows the tables of the shipped plugins (core's agents, memories, ...) to reference
from yours. The plugin guide explains every declaration and the host API.
)TEMPLATE";

void write_file(const std::filesystem::path& path, const std::string& text) {
    std::ofstream out(path);
    out << text;
    if (!out.flush()) throw std::runtime_error("cannot write " + path.string());
}

}  // namespace

int new_plugin(const NewPluginOptions& options) {
    static const std::regex plugin_name("[a-z][a-z0-9_-]{0,62}");
    if (!std::regex_match(options.name, plugin_name))
        throw std::runtime_error("plugin name \"" + options.name +
                                 "\" is not usable: use lowercase letters, digits, '_' and '-', starting with a "
                                 "letter, at most 63 characters");
    std::string table = options.name;
    for (auto& c : table)
        if (c == '-') c = '_';
    const auto dir = options.dir.empty() ? std::filesystem::path(options.name) : std::filesystem::path(options.dir);
    std::error_code ec;
    if (std::filesystem::exists(dir, ec) && !std::filesystem::is_empty(dir, ec))
        throw std::runtime_error("folder " + dir.string() + " exists and is not empty; choose another with --dir");
    std::filesystem::create_directories(dir);
    write_file(dir / (options.name + ".cpp"), fill(kSource, options.name, table));
    write_file(dir / "meson.build", fill(kMeson, options.name, table));
    write_file(dir / "CMakeLists.txt", fill(kCMake, options.name, table));
    write_file(dir / "README.md", fill(kReadme, options.name, table));
    std::cout << "wrote the plugin \"" << options.name << "\" in " << dir.string() << ": " << options.name
              << ".cpp, meson.build, CMakeLists.txt, README.md\n"
              << "build it: cd " << dir.string() << " && meson setup build && ninja -C build\n";
    return 0;
}

}  // namespace plinth::cli
