#include <doctest/doctest.h>

#include <algorithm>

#include <nlohmann/json.hpp>

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

TEST_CASE("plinth --version and --help") {
    CHECK(run("--version").out.rfind("plinth ", 0) == 0);
    auto help = run("--help");
    CHECK(help.exit_code == 0);
    CHECK(help.out.find("check") != std::string::npos);
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
