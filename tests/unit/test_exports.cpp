#include <doctest/doctest.h>

#include <algorithm>
#include <memory>
#include <sstream>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "load/elf_check.hpp"
#include "load/loader.hpp"
#include "paths.hpp"
#include "pipeline/plugin_set.hpp"

using plinth::test::broken_dir;

namespace {

const std::string kFix =
    "build with -fvisibility=hidden and -Wl,--version-script=plinth_plugin.map (the SDK's export map), as "
    "plinth_add_plugin and the plinth-sdk pkg-config flags do";

}  // namespace

TEST_CASE("the dynamic symbols a plugin defines are read from its .dynsym") {
    auto symbols = plinth::load::exported_symbols(broken_dir() / "exports_everything.so");
    REQUIRE(symbols.has_value());
    std::sort(symbols->begin(), symbols->end());
    // Its imports (__cxa_finalize and the like) are not among them.
    CHECK(*symbols == std::vector<std::string>{"helper_count", "helper_reset", "plinth_plugin_entry_v1", "plugin_state"});
    CHECK_FALSE(plinth::load::exported_symbols(broken_dir() / "not_elf.so").has_value());
}

TEST_CASE("a plugin exporting more than its entry symbol loads, with a warning that counts them and names the fix") {
    const auto file = broken_dir() / "exports_everything.so";
    const auto warning = plinth::load::check_exports(file);
    REQUIRE(warning.has_value());
    CHECK(warning->message() ==
          file.string() + ": exports 3 dynamic symbols besides plinth_plugin_entry_v1; " + kFix);

    const auto result = plinth::load::load_folder(broken_dir());
    // Every other test plugin is built with hidden visibility and the export map.
    REQUIRE(result.warnings.size() == 1);
    CHECK(result.warnings[0].file == file.string());
    CHECK(result.warnings[0].text == warning->text);
    CHECK(std::any_of(result.plugins.begin(), result.plugins.end(),
                      [](const plinth::model::Plugin& p) { return p.name == "exports-everything"; }));
}

TEST_CASE("the shipped plugins export their entry symbol and nothing else") {
    const auto result = plinth::load::load_folder(plinth::test::plugins_dir());
    CHECK(result.warnings.empty());
    REQUIRE(result.plugins.size() == 2);
    for (const auto& plugin : result.plugins)
        CHECK(plinth::load::exported_symbols(plugin.file) == std::vector<std::string>{"plinth_plugin_entry_v1"});
}

TEST_CASE("the warning is logged as a warning, even with --strict") {
    std::ostringstream out;
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
    sink->set_pattern("[%l] %v");
    const auto previous = spdlog::default_logger();
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", sink));
    const auto set = plinth::pipeline::load_plugin_set({broken_dir()});
    plinth::pipeline::log_plugin_issues(set, true);
    spdlog::set_default_logger(previous);
    const std::string line = "[warning] " + (broken_dir() / "exports_everything.so").string() +
                             ": exports 3 dynamic symbols besides plinth_plugin_entry_v1; " + kFix + "\n";
    CHECK(out.str().find(line) != std::string::npos);
    CHECK(out.str().find("[error] refused ") != std::string::npos);  // refusals do turn into errors
}
