// Stage "order": the valid plugin set -> every table of every plugin in creation order, and the
// plugins in initialisation order (Boost.Graph).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "model/schema.hpp"

namespace plinth::order {

struct TableRef {
    std::size_t plugin;  // index into the plugin vector given to order()
    std::size_t table;   // index into that plugin's tables
};

// A foreign key left out of CREATE TABLE because it closes a cycle; added once every table exists.
struct DeferredForeignKey {
    std::string table;  // "schema.table" that owns the constraint
    std::string name;   // constraint name
};

struct Ordering {
    std::vector<TableRef> tables;                  // referenced tables before referencing ones
    std::vector<DeferredForeignKey> deferred;      // sorted by table, then name
    std::vector<std::vector<std::string>> cycles;  // each cycle's tables ("schema.table"), sorted
    std::vector<std::size_t> plugins;              // initialisation order; stop in reverse
};

// Deterministic: depends only on names, never on the order of the input vectors.
// Expects validated plugins (every foreign key target exists).
Ordering order(const std::vector<model::Plugin>& plugins);

// The general tool behind order(): nodes 0..n-1 with edges "from depends on to". Returns the nodes
// with every node after the nodes it depends on, ignoring self-edges and edges inside a cycle, and
// the cycles (strongly connected components of more than one node), each sorted. Among nodes free
// to go in either order, the lower index goes first, so sorted input gives a reproducible result.
struct NodeOrder {
    std::vector<std::size_t> order;
    std::vector<std::vector<std::size_t>> cycles;
    std::vector<std::size_t> component;  // per node; equal for nodes on one cycle
};
NodeOrder order_nodes(std::size_t node_count, std::vector<std::pair<std::size_t, std::size_t>> edges);

}  // namespace plinth::order
