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

class PluginContext {
public:
    PluginContext(std::string plugin_name, std::shared_ptr<spdlog::logger> logger, PluginConfig config,
                  std::shared_ptr<ConnectionPool> pool);
    PluginContext(const PluginContext&) = delete;
    PluginContext& operator=(const PluginContext&) = delete;
    ~PluginContext();

    // Valid as long as this context; handed to the plugin's init, start and stop.
    const plinth_host* raw() const noexcept { return &raw_; }
    const std::string& name() const noexcept { return name_; }
    spdlog::logger& logger() const noexcept { return *logger_; }

    // Forgets the error of an earlier lifecycle call; called before each one.
    void clear_error();
    // What the plugin passed to set_error since clear_error, empty when nothing.
    std::string error() const;

    // Rolls back and releases the transactions the plugin left open; returns how many there were.
    std::size_t close_transactions() noexcept;

private:
    friend struct HostAbi;

    std::string name_;
    std::shared_ptr<spdlog::logger> logger_;
    PluginConfig config_;
    std::shared_ptr<ConnectionPool> pool_;
    plinth_host raw_{};

    mutable std::mutex mu_;
    std::string error_;
    std::unordered_map<plinth_db_tx*, std::shared_ptr<plinth_db_tx>> transactions_;
};

}  // namespace plinth::hosting
