// Configuration: a TOML table per plugin, overridden by PLINTH_<PLUGIN>_<KEY>, each plugin seeing
// its own keys only.
#include <doctest/doctest.h>

#include <fstream>

#include "host/config.hpp"
#include "pg_fixture.hpp"
#include "support.hpp"

using plinth::hosting::Config;
using plinth::hosting::ConfigError;
using plinth::hosting::config_env_name;
using plinth::test::CapturedLogs;
using plinth::test::ScopedEnv;
using plinth::test::TempDir;

namespace {

std::filesystem::path write_file(const TempDir& dir, const std::string& text) {
    const auto path = dir.path() / "plinth.toml";
    std::ofstream(path) << text;
    return path;
}

std::string error_of(const std::filesystem::path& file, CapturedLogs& logs) {
    try {
        Config::load(file, {"demo"}, *logs.logging().logger("plinth"));
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "no error";
}

}  // namespace

TEST_CASE("environment variable names: PLINTH_, the plugin and the key upper-cased, '-' and '.' as '_'") {
    CHECK(config_env_name("project-management", "project") == "PLINTH_PROJECT_MANAGEMENT_PROJECT");
    CHECK(config_env_name("core", "limits.max-tasks") == "PLINTH_CORE_LIMITS_MAX_TASKS");
}

TEST_CASE("a plugin reads its own table: strings as they are, other values as TOML text, nested keys dotted") {
    TempDir dir;
    CapturedLogs logs;
    const auto file = write_file(dir, R"(
[demo]
greeting = "hello \"world\""
count = 3
ratio = 0.5
enabled = true
day = 2024-05-01
[demo.limits]
tasks = 10

[other]
secret = "not for demo"
)");
    const auto config = Config::load(file, {"demo", "other"}, *logs.logging().logger("plinth"));
    const auto demo = config.for_plugin("demo");
    REQUIRE(demo.get("greeting"));
    CHECK(*demo.get("greeting") == "hello \"world\"");
    CHECK(*demo.get("count") == "3");
    CHECK(*demo.get("ratio") == "0.5");
    CHECK(*demo.get("enabled") == "true");
    CHECK(*demo.get("day") == "2024-05-01");
    CHECK(*demo.get("limits.tasks") == "10");
    CHECK(demo.get("secret") == nullptr);
    CHECK(demo.get("missing") == nullptr);
    CHECK(*config.for_plugin("other").get("secret") == "not for demo");
    CHECK(config.for_plugin("nobody").get("greeting") == nullptr);
    CHECK_FALSE(logs.contains("ignored"));
}

TEST_CASE("an environment variable overrides the file's key, and may set a key the file lacks") {
    TempDir dir;
    CapturedLogs logs;
    const auto file = write_file(dir, "[my-plugin]\ngreeting = \"from the file\"\nkept = \"file\"\n");
    ScopedEnv greeting("PLINTH_MY_PLUGIN_GREETING", "from the environment");
    ScopedEnv extra("PLINTH_MY_PLUGIN_LIMITS_TASKS", "7");
    ScopedEnv foreign("PLINTH_OTHER_GREETING", "not mine");
    const auto config = Config::load(file, {"my-plugin"}, *logs.logging().logger("plinth")).for_plugin("my-plugin");
    CHECK(*config.get("greeting") == "from the environment");
    CHECK(*config.get("kept") == "file");
    CHECK(*config.get("limits.tasks") == "7");
    CHECK(config.get("other_greeting") == nullptr);
    // Without a file, the environment alone.
    CHECK(*Config().for_plugin("my-plugin").get("greeting") == "from the environment");
}

TEST_CASE("a configuration the host cannot use is refused with the file, line and key") {
    TempDir dir;
    CapturedLogs logs;
    const auto missing = dir.path() / "absent.toml";
    CHECK(error_of(missing, logs) == "configuration file " + missing.string() + " does not exist or is not a file");

    const auto bad_syntax = write_file(dir, "[demo]\nname = \n");
    CHECK(error_of(bad_syntax, logs).starts_with(bad_syntax.string() + ":2: "));

    const auto array = write_file(dir, "[demo]\nok = 1\nnames = [\"a\", \"b\"]\n");
    CHECK(error_of(array, logs) == array.string() +
                                       ":3: [demo] key \"names\": arrays are not supported; give each value its own key");
}

TEST_CASE("tables for plugins not in the run, and keys outside any table, are warned about") {
    TempDir dir;
    CapturedLogs logs;
    const auto file = write_file(dir, "stray = 1\n[demo]\na = 1\n[dmeo]\na = 2\n");
    Config::load(file, {"demo"}, *logs.logging().logger("plinth"));
    CHECK(logs.contains(file.string() + ":1: key \"stray\" is outside any plugin's table and is ignored"));
    CHECK(logs.contains(file.string() + ":4: table [dmeo] names no plugin of this run and is ignored"));
}
