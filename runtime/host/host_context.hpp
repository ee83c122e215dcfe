// The plinth_host one plugin sees: its logger, its configuration, database access through the
// shared pool, and the error its current lifecycle call reports. The C functions behind it catch
// everything, so no exception ever reaches the plugin.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include <plinth/plinth_plugin.h>

#include "host/config.hpp"
#include "host/connection_pool.hpp"

namespace spdlog {
class logger;
}

namespace plinth::hosting {

struct HostGate;

// Owned by a shared_ptr (std::make_shared): a host call in flight holds the context alive.
class PluginContext : public std::enable_shared_from_this<PluginContext> {
public:
    PluginContext(std::string plugin_name, std::shared_ptr<spdlog::logger> logger, PluginConfig config,
                  std::shared_ptr<ConnectionPool> pool);
    PluginContext(const PluginContext&) = delete;
    PluginContext& operator=(const PluginContext&) = delete;
    ~PluginContext();

    // Handed to the plugin's init, start and stop. Valid for the life of the process, since a
    // plugin thread may still call through it at any time: once close_host() has run (or this
    // context is gone) every function answers with an error, "plinth has stopped this plugin",
    // and touches nothing of this context.
    const plinth_host* raw() const noexcept;
    const std::string& name() const noexcept { return name_; }
    spdlog::logger& logger() const noexcept { return *logger_; }

    // Forgets the error of an earlier lifecycle call; called before each one.
    void clear_error();
    // What the plugin passed to set_error since clear_error, empty when nothing.
    std::string error() const;

    // From now on every host function called by this plugin answers with an error (logging is
    // dropped); calls already in flight finish, keeping this context alive until they return.
    void close_host() noexcept;

    // Rolls back and releases the transactions the plugin left open; returns how many there were.
    std::size_t close_transactions() noexcept;

private:
    friend struct HostAbi;

    std::string name_;
    std::shared_ptr<spdlog::logger> logger_;
    PluginConfig config_;
    std::shared_ptr<ConnectionPool> pool_;
    HostGate* gate_;  // never freed: see raw()

    mutable std::mutex mu_;
    std::string error_;
    std::unordered_map<plinth_db_tx*, std::shared_ptr<plinth_db_tx>> transactions_;
};

}  // namespace plinth::hosting
