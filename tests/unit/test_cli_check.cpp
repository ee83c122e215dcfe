#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>

#include <nlohmann/json.hpp>
#include <unistd.h>
#include <plinth/plinth_plugin.h>

#include "../support/processes.hpp"
#include "paths.hpp"

namespace {

plinth::test::CommandResult run(const std::string& args) {
    return plinth::test::run_command(plinth::test::plinth_exe().string() + " " + args + " 2>/dev/null");
}

std::size_t position(const std::vector<std::string>& order, const std::string& table) {
    return std::find(order.begin(), order.end(), table) - order.begin();
}

}  // namespace

TEST_CASE("plinth check lists the shipped plugins' tables in a valid creation order") {
    auto r = run("check --plugins " + plinth::test::plugins_dir().string() + " --format json");
    CHECK(r.exit_code == 0);
    auto json = nlohmann::json::parse(r.out);
    CHECK(json["valid"] == true);
    auto order = json["creation_order"].get<std::vector<std::string>>();
    CHECK(order.size() == 13);
    CHECK(position(order, "public.agents") < position(order, "public.entities"));
    CHECK(position(order, "public.entities") < position(order, "public.memories"));
    CHECK(position(order, "public.memories") < position(order, "public.embeddings"));
    CHECK(position(order, "public.projects") < position(order, "public.project_tasks"));
    CHECK(json["plugins"][0]["name"] == "core");
    CHECK(json["plugins"][1]["name"] == "project-management");
    CHECK(json["deferred_foreign_keys"].empty());
    CHECK(json["warnings"].empty());
}

TEST_CASE("plinth check in text form, and the same output twice") {
    const std::string args = "check --plugins " + plinth::test::plugins_dir().string();
    auto first = run(args);
    CHECK(first.exit_code == 0);
    CHECK(first.out.find("    1. public.agents\n") != std::string::npos);
    CHECK(first.out.find("all plugins are valid") != std::string::npos);
    CHECK(run(args).out == first.out);
}

TEST_CASE("plinth check names a *.so that is no file instead of saying that all plugins are valid") {
    const auto folder = std::filesystem::temp_directory_path() / ("plinth-check-odd-" + std::to_string(::getpid()));
    std::filesystem::remove_all(folder);
    std::filesystem::create_directories(folder);
    std::filesystem::copy_file(plinth::test::broken_dir() / "minimal_valid.so", folder / "minimal.so");
    std::filesystem::create_symlink(folder / "gone.so", folder / "dangling.so");
    auto r = run("check --plugins " + folder.string());
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("dangling.so: a symbolic link to " + (folder / "gone.so").string() + ", which does not exist") !=
          std::string::npos);
    CHECK(r.out.find("all plugins are valid") == std::string::npos);
    std::filesystem::remove_all(folder);
}

TEST_CASE("plinth check exits 1 and names every refusal when a plugin is broken") {
    auto r = run("check --plugins " + plinth::test::broken_dir().string());
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("refused files:") != std::string::npos);
    CHECK(r.out.find("not_elf.so: not a loadable shared object") != std::string::npos);
    CHECK(r.out.find("some plugins are not valid") != std::string::npos);
}

TEST_CASE("plinth check prints load warnings, in text and in JSON") {
    const auto file = (plinth::test::broken_dir() / "exports_everything.so").string();
    const std::string text = "exports 3 dynamic symbols besides plinth_plugin_entry_v1; build with -fvisibility=hidden "
                             "and -Wl,--version-script=plinth_plugin.map (the SDK's export map), as plinth_add_plugin "
                             "and the plinth-sdk pkg-config flags do";
    auto r = run("check --plugins " + plinth::test::broken_dir().string());
    CHECK(r.out.find("\nwarnings:\n  " + file + ": " + text + "\n") != std::string::npos);
    auto json = nlohmann::json::parse(run("check --plugins " + plinth::test::broken_dir().string() + " --format json").out);
    CHECK(json["warnings"] == nlohmann::json::array({{{"file", file}, {"text", text}}}));
}

TEST_CASE("plinth check --format json gives each problem's location apart, and in its text") {
    auto r = run("check --plugins " + plinth::test::broken_dir().string() + " --format json");
    CHECK(r.exit_code == 1);
    const auto json = nlohmann::json::parse(r.out);
    const auto location = "invalid_table_name.cpp:" + std::to_string(plinth::test::marked_line("invalid_table_name.cpp", "@table"));
    std::size_t found = 0;
    for (const auto& problem : json["problems"]) {
        if (problem["plugin"] != "bad-table-name") continue;
        ++found;
        CHECK(problem["location"] == location);
        CHECK(problem["text"].get<std::string>().ends_with(" (declared at " + location + ")"));
    }
    CHECK(found == 1);
}

TEST_CASE("plinth --version names the plugin ABI; --help and plinth help show the commands") {
    const auto version = run("--version");
    CHECK(version.exit_code == 0);
    CHECK(version.out.rfind("plinth ", 0) == 0);
    CHECK(version.out.find("(plugin ABI " + std::to_string(PLINTH_ABI_MAJOR) + "." + std::to_string(PLINTH_ABI_MINOR) +
                           ")") != std::string::npos);
    auto help = run("--help");
    CHECK(help.exit_code == 0);
    CHECK(help.out.find("check") != std::string::npos);
    CHECK(run("help").out == help.out);
    const auto db_start = run("help db start");
    CHECK(db_start.exit_code == 0);
    CHECK(db_start.out.find("--data-dir") != std::string::npos);
}

TEST_CASE("every usage error exits with 64, whatever CLI11 would say") {
    CHECK(run("").exit_code == 64);                          // no command
    CHECK(run("frobnicate").exit_code == 64);                // unknown command
    CHECK(run("plan --no-such-option").exit_code == 64);     // unknown option
    CHECK(run("check --format xml").exit_code == 64);        // a value not among the choices
    CHECK(run("run --pool-size 0").exit_code == 64);         // out of range
    CHECK(run("db").exit_code == 64);                        // a subcommand is required
    CHECK(run("help no-such-command").exit_code == 64);
    CHECK(run("--color sometimes check").exit_code == 64);
}

TEST_CASE("text logs carry an ISO 8601 time with its zone, and colour follows --color") {
    const std::string unreachable =
        " plan --plugins " + plinth::test::plugins_dir().string() +
        " --database-url 'postgresql://127.0.0.1:1/none?connect_timeout=1' --connect-timeout 0";
    const auto never = run("--color never" + unreachable);
    CHECK(never.exit_code == 1);
    CHECK(std::regex_search(never.out, std::regex(R"(^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d\] \[error\] )")));
    CHECK(never.out.find('\x1b') == std::string::npos);
    // After the command too, and stronger than NO_COLOR, which only changes what "auto" means.
    const auto always = plinth::test::run_command("NO_COLOR=1 " + plinth::test::plinth_exe().string() + unreachable +
                                                  " --color always 2>/dev/null");
    CHECK(always.out.find("\x1b[") != std::string::npos);
    CHECK(always.out.find("error") != std::string::npos);
}

namespace {

std::string write_config(const std::string& name, const std::string& text) {
    const auto path = std::filesystem::temp_directory_path() / ("plinth-test-" + std::to_string(::getpid()) + "-" + name);
    std::ofstream(path) << text;
    return path.string();
}

}  // namespace

TEST_CASE("run options come from the command line, then PLINTH_<OPTION>, then the config file's [plinth] table") {
    // Nothing reaches a database: the run fails to connect, logging in the format chosen.
    const auto config = write_config("settings.toml",
                                     "[plinth]\n"
                                     "log_format = \"json\"\n"
                                     "database_url = \"postgresql://127.0.0.1:1/none?connect_timeout=1\"\n"
                                     "connect_timeout = 0\n"
                                     "plugins = [\"" + plinth::test::plugins_dir().string() + "\"]\n");
    const auto plinth = plinth::test::plinth_exe().string();
    const auto from_file = plinth::test::run_command(plinth + " run --config " + config + " 2>&1");
    CHECK(from_file.exit_code == 1);
    CHECK(from_file.out.rfind("{\"level\":\"info\"", 0) == 0);
    CHECK(from_file.out.find("2 plugins from " + plinth::test::plugins_dir().string()) != std::string::npos);
    CHECK(from_file.out.find("could not connect to postgresql://127.0.0.1:1/none") != std::string::npos);

    const auto from_environment =
        plinth::test::run_command("PLINTH_LOG_FORMAT=text " + plinth + " run --config " + config + " 2>&1");
    CHECK(from_environment.out.rfind("[", 0) == 0);
    const auto from_command_line = plinth::test::run_command("PLINTH_LOG_FORMAT=text " + plinth + " run --config " +
                                                             config + " --log-format json 2>&1");
    CHECK(from_command_line.out.rfind("{", 0) == 0);
    std::filesystem::remove(config);
}

TEST_CASE("a [plinth] key that names no option, or a value the option refuses, is a usage error naming file and line") {
    const auto plinth = plinth::test::plinth_exe().string();
    const auto typo = write_config("typo.toml", "[plinth]\nlog_level = \"info\"\npool_sise = 3\n");
    auto r = plinth::test::run_command(plinth + " run --config " + typo + " 2>&1");
    CHECK(r.exit_code == 64);
    CHECK(r.out.find(typo + ":3: [plinth] pool_sise is not an option of plinth run") != std::string::npos);
    const auto range = write_config("range.toml", "[plinth]\npool_size = 0\n");
    r = plinth::test::run_command(plinth + " run --config " + range + " 2>&1");
    CHECK(r.exit_code == 64);
    CHECK(r.out.find(range + ":2: [plinth] pool_size: ") != std::string::npos);
    const auto array = write_config("array.toml", "[plinth]\nlog_level = [\"info\", \"debug\"]\n");
    r = plinth::test::run_command(plinth + " run --config " + array + " 2>&1");
    CHECK(r.exit_code == 64);
    CHECK(r.out.find("[plinth] log_level takes one value, not an array") != std::string::npos);
    r = plinth::test::run_command("PLINTH_POOL_SIZE=0 " + plinth + " run 2>&1");
    CHECK(r.exit_code == 64);
    CHECK(r.out.find("--pool-size") != std::string::npos);
    for (const auto& file : {typo, range, array}) std::filesystem::remove(file);
}

TEST_CASE("plinth describe shows a similarity index's operator class, and its options only where declared") {
    const std::string plugins = " --plugins " + plinth::test::plugins_dir().string();
    auto text = run("describe core" + plugins);
    CHECK(text.exit_code == 0);
    CHECK(text.out.find("    index embeddings_dim_384_idx using hnsw (dim_384 vector_cosine_ops)\n") != std::string::npos);
    CHECK(text.out.find("    index embeddings_dim_3072_idx using hnsw ((dim_3072::halfvec(3072)) halfvec_cosine_ops)\n") !=
          std::string::npos);
    CHECK(text.out.find("    index embeddings_memory_id_idx using btree (memory_id)\n") != std::string::npos);
    auto json = nlohmann::json::parse(run("describe core --format json" + plugins).out);
    bool found = false;
    for (const auto& table : json["plugins"][0]["tables"]) {
        if (table["name"] != "public.embeddings") continue;
        found = true;
        CHECK(table["indexes"][0].contains("opclasses") == false);
        CHECK(table["indexes"][1]["opclasses"] == nlohmann::json::array({"vector_cosine_ops"}));
        CHECK(table["indexes"][1].contains("with") == false);
    }
    CHECK(found);
}
