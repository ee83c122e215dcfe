#include <doctest/doctest.h>

#include <algorithm>
#include <random>

#include "order/order.hpp"

using plinth::model::Plugin;
using plinth::model::Table;

namespace {

// A table "name" whose foreign keys point at `refs` (each "table" or "schema.table").
Table table(const std::string& name, const std::vector<std::string>& refs = {}, const std::string& schema = "public") {
    Table t;
    t.schema = schema;
    t.name = name;
    for (const auto& r : refs) {
        plinth::model::ForeignKey fk;
        auto dot = r.find('.');
        fk.ref_schema = dot == std::string::npos ? schema : r.substr(0, dot);
        fk.ref_table = dot == std::string::npos ? r : r.substr(dot + 1);
        fk.name = name + "_" + fk.ref_table + "_fkey";
        t.foreign_keys.push_back(fk);
    }
    return t;
}

Plugin plugin(const std::string& name, std::vector<Table> tables, std::vector<std::string> requires_plugins = {}) {
    Plugin p;
    p.name = name;
    p.tables = std::move(tables);
    p.requires_plugins = std::move(requires_plugins);
    return p;
}

std::vector<std::string> creation_order(const std::vector<Plugin>& plugins) {
    auto o = plinth::order::order(plugins);
    std::vector<std::string> out;
    for (const auto& ref : o.tables) out.push_back(plugins[ref.plugin].tables[ref.table].name);
    return out;
}

std::vector<std::string> plugin_order(const std::vector<Plugin>& plugins) {
    std::vector<std::string> out;
    for (auto p : plinth::order::order(plugins).plugins) out.push_back(plugins[p].name);
    return out;
}

}  // namespace

TEST_CASE("a chain is created from the referenced end") {
    CHECK(creation_order({plugin("p", {table("a", {"b"}), table("b", {"c"}), table("c")})}) ==
          std::vector<std::string>{"c", "b", "a"});
}

TEST_CASE("a diamond puts the shared table first and the joining table last") {
    auto order = creation_order({plugin("p", {table("top", {"left", "right"}), table("left", {"base"}),
                                              table("right", {"base"}), table("base")})});
    CHECK(order == std::vector<std::string>{"base", "left", "right", "top"});
}

TEST_CASE("tables of a later plugin referencing an earlier one's tables, and the other way round") {
    // "alpha" sorts first but references "zeta"'s table: the graph, not plugin order, decides.
    std::vector<Plugin> plugins{plugin("alpha", {table("alpha_items", {"zeta_owners"})}, {"zeta"}),
                                plugin("zeta", {table("zeta_owners")})};
    CHECK(creation_order(plugins) == std::vector<std::string>{"zeta_owners", "alpha_items"});
    CHECK(plugin_order(plugins) == std::vector<std::string>{"zeta", "alpha"});
}

TEST_CASE("a required plugin is initialised first even without foreign keys") {
    std::vector<Plugin> plugins{plugin("a", {}, {"b"}), plugin("b", {})};
    CHECK(plugin_order(plugins) == std::vector<std::string>{"b", "a"});
}

TEST_CASE("a self-reference needs no deferral") {
    auto o = plinth::order::order({plugin("p", {table("messages", {"messages", "rooms"}), table("rooms")})});
    CHECK(o.cycles.empty());
    CHECK(o.deferred.empty());
    REQUIRE(o.tables.size() == 2);
}

TEST_CASE("a cycle is reported with its members and broken by deferring its foreign keys") {
    std::vector<Plugin> plugins{plugin("p", {table("a", {"b"}), table("b", {"c"}), table("c", {"a", "d"}), table("d")})};
    auto o = plinth::order::order(plugins);
    REQUIRE(o.cycles.size() == 1);
    CHECK(o.cycles[0] == std::vector<std::string>{"public.a", "public.b", "public.c"});
    REQUIRE(o.deferred.size() == 3);
    CHECK(o.deferred[0].table == "public.a");
    CHECK(o.deferred[0].name == "a_b_fkey");
    CHECK(o.deferred[2].name == "c_a_fkey");
    // d is referenced from inside the cycle, so it still comes before c.
    auto order = creation_order(plugins);
    CHECK(std::find(order.begin(), order.end(), "d") < std::find(order.begin(), order.end(), "c"));
    CHECK(order.size() == 4);
}

TEST_CASE("a cycle across two plugins") {
    std::vector<Plugin> plugins{plugin("one", {table("users", {"two.teams"}, "one")}, {"two"}),
                                plugin("two", {table("teams", {"one.users"}, "two")}, {"one"})};
    auto o = plinth::order::order(plugins);
    REQUIRE(o.cycles.size() == 1);
    CHECK(o.cycles[0] == std::vector<std::string>{"one.users", "two.teams"});
    CHECK(o.deferred.size() == 2);
    CHECK(o.tables.size() == 2);
    CHECK(o.plugins.size() == 2);
}

TEST_CASE("the result does not depend on the order plugins and tables arrive in") {
    std::vector<Plugin> plugins{plugin("core", {table("agents"), table("entities", {"agents"}), table("rooms", {"agents"}),
                                                table("memories", {"agents", "entities", "rooms"}),
                                                table("embeddings", {"memories"}), table("x", {"y"}), table("y", {"x"})}),
                                plugin("pm", {table("projects", {"agents"}), table("project_tasks", {"projects"})}, {"core"})};
    const auto expected = creation_order(plugins);
    CHECK(expected == std::vector<std::string>{"agents", "entities", "projects", "project_tasks", "rooms", "memories",
                                               "embeddings", "x", "y"});
    std::mt19937 shuffle(42);
    for (int round = 0; round < 20; ++round) {
        auto copy = plugins;
        std::shuffle(copy.begin(), copy.end(), shuffle);
        for (auto& p : copy) std::shuffle(p.tables.begin(), p.tables.end(), shuffle);
        CHECK(creation_order(copy) == expected);
        auto o = plinth::order::order(copy);
        CHECK(o.deferred.size() == 2);
    }
}

TEST_CASE("order_nodes: lowest ready node first, self-edges ignored") {
    auto r = plinth::order::order_nodes(4, {{0, 3}, {1, 3}, {2, 2}});
    CHECK(r.order == std::vector<std::size_t>{2, 3, 0, 1});
    CHECK(r.cycles.empty());
}
