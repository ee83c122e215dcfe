#include "order/order.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <queue>

#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/strong_components.hpp>

namespace plinth::order {

NodeOrder order_nodes(std::size_t node_count, std::vector<std::pair<std::size_t, std::size_t>> edges) {
    using Graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS>;
    std::sort(edges.begin(), edges.end());
    edges.erase(std::unique(edges.begin(), edges.end()), edges.end());

    Graph graph(node_count);
    for (const auto& [from, to] : edges)
        if (from != to) boost::add_edge(from, to, graph);

    NodeOrder result;
    result.component.resize(node_count);
    const auto component_count = boost::strong_components(
        graph, boost::make_iterator_property_map(result.component.begin(), boost::get(boost::vertex_index, graph)));

    std::vector<std::vector<std::size_t>> members(component_count);
    for (std::size_t v = 0; v < node_count; ++v) members[result.component[v]].push_back(v);
    for (const auto& m : members)
        if (m.size() > 1) result.cycles.push_back(m);
    std::sort(result.cycles.begin(), result.cycles.end());

    // Kahn's algorithm on the edges that do not close a cycle, always taking the lowest ready node:
    // the order reads naturally (alphabetical where dependencies allow) and is reproducible.
    std::vector<std::size_t> waiting(node_count, 0);
    std::vector<std::vector<std::size_t>> dependents(node_count);
    for (const auto& [from, to] : edges) {
        if (from == to || result.component[from] == result.component[to]) continue;
        ++waiting[from];
        dependents[to].push_back(from);
    }
    std::priority_queue<std::size_t, std::vector<std::size_t>, std::greater<>> ready;
    for (std::size_t v = 0; v < node_count; ++v)
        if (waiting[v] == 0) ready.push(v);
    while (!ready.empty()) {
        const std::size_t v = ready.top();
        ready.pop();
        result.order.push_back(v);
        for (std::size_t d : dependents[v])
            if (--waiting[d] == 0) ready.push(d);
    }
    return result;
}

Ordering order(const std::vector<model::Plugin>& plugins) {
    // Vertices in sorted name order, so the result never depends on the input order; of two tables
    // with one name (validation refuses that), the first is kept. A sorted vector, not a map: one
    // allocation per name instead of a node and a key copy in each of two maps.
    std::map<std::string, std::size_t> plugin_by_name;
    std::vector<std::pair<std::string, TableRef>> by_name;
    for (std::size_t p = 0; p < plugins.size(); ++p) {
        plugin_by_name.emplace(plugins[p].name, p);
        for (std::size_t t = 0; t < plugins[p].tables.size(); ++t)
            by_name.emplace_back(plugins[p].tables[t].qualified_name(), TableRef{p, t});
    }
    std::stable_sort(by_name.begin(), by_name.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    by_name.erase(std::unique(by_name.begin(), by_name.end(), [](const auto& a, const auto& b) { return a.first == b.first; }),
                  by_name.end());
    std::vector<std::string> names;
    std::vector<TableRef> refs;
    names.reserve(by_name.size());
    refs.reserve(by_name.size());
    for (auto& [name, ref] : by_name) {
        names.push_back(std::move(name));
        refs.push_back(ref);
    }
    // The vertex of "schema.table", when some plugin declares it.
    const auto vertex_of = [&](const std::string& schema, const std::string& table) -> std::optional<std::size_t> {
        const std::string key = schema + "." + table;
        const auto at = std::lower_bound(names.begin(), names.end(), key);
        if (at == names.end() || *at != key) return std::nullopt;
        return static_cast<std::size_t>(at - names.begin());
    };

    struct Edge { std::size_t from, to; const model::ForeignKey* fk; };
    std::vector<Edge> fk_edges;
    for (std::size_t v = 0; v < refs.size(); ++v) {
        const auto& table = plugins[refs[v].plugin].tables[refs[v].table];
        for (const auto& fk : table.foreign_keys) {
            if (const auto target = vertex_of(fk.ref_schema, fk.ref_table)) fk_edges.push_back({v, *target, &fk});
        }
    }
    std::vector<std::pair<std::size_t, std::size_t>> edges;
    for (const auto& e : fk_edges) edges.emplace_back(e.from, e.to);
    const NodeOrder tables = order_nodes(names.size(), edges);

    Ordering result;
    for (std::size_t v : tables.order) result.tables.push_back(refs[v]);
    for (const auto& cycle : tables.cycles) {
        std::vector<std::string> members;
        for (std::size_t v : cycle) members.push_back(names[v]);
        result.cycles.push_back(std::move(members));
    }
    for (const auto& e : fk_edges)
        if (e.from != e.to && tables.component[e.from] == tables.component[e.to])
            result.deferred.push_back({names[e.from], e.fk->name});
    std::sort(result.deferred.begin(), result.deferred.end(), [](const auto& a, const auto& b) {
        return a.table != b.table ? a.table < b.table : a.name < b.name;
    });

    // Plugins: after every plugin they require or whose tables they reference.
    std::vector<std::size_t> plugin_sorted;  // vertex -> plugin index, by name
    std::vector<std::size_t> plugin_vertex(plugins.size());  // plugin index -> vertex
    for (const auto& [name, p] : plugin_by_name) {
        plugin_vertex[p] = plugin_sorted.size();
        plugin_sorted.push_back(p);
    }
    std::vector<std::pair<std::size_t, std::size_t>> plugin_edges;
    for (std::size_t p = 0; p < plugins.size(); ++p) {
        for (const auto& r : plugins[p].requires_plugins)
            if (auto it = plugin_by_name.find(r); it != plugin_by_name.end())
                plugin_edges.emplace_back(plugin_vertex[p], plugin_vertex[it->second]);
    }
    // A foreign key into a plugin that requires this one (two plugins whose tables reference each
    // other) yields to that require: the required plugin comes first.
    const std::set<std::pair<std::size_t, std::size_t>> requires_edges(plugin_edges.begin(), plugin_edges.end());
    for (const auto& e : fk_edges) {
        const auto from = plugin_vertex[refs[e.from].plugin], to = plugin_vertex[refs[e.to].plugin];
        if (!requires_edges.count({to, from})) plugin_edges.emplace_back(from, to);
    }
    for (std::size_t v : order_nodes(plugin_sorted.size(), plugin_edges).order)
        result.plugins.push_back(plugin_sorted[v]);
    return result;
}

}  // namespace plinth::order
