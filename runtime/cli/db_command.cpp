#include "cli/commands.hpp"

#include <filesystem>
#include <iostream>

#include <spdlog/spdlog.h>

#include "embedded/cluster.hpp"

namespace plinth::cli {
namespace {

embedded::EmbeddedCluster cluster_in(const std::filesystem::path& dir) {
    return embedded::EmbeddedCluster(dir, *spdlog::default_logger());
}

}  // namespace

int db_start(const std::filesystem::path& data_dir) {
    auto cluster = cluster_in(data_dir);
    if (!cluster.start())
        spdlog::info("the embedded PostgreSQL server in {} is already running",
                     cluster.data_dir().string());
    spdlog::info("connect with: psql \"{}\"", cluster.conninfo());
    return 0;
}

int db_stop(const std::filesystem::path& data_dir) {
    auto cluster = cluster_in(data_dir);
    if (!cluster.stop())
        spdlog::info("the embedded PostgreSQL server in {} was not running",
                     cluster.data_dir().string());
    return 0;
}

int db_url(const std::filesystem::path& data_dir) {
    std::cout << cluster_in(data_dir).conninfo() << '\n';
    return 0;
}

int db_status(const std::filesystem::path& data_dir) {
    auto cluster = cluster_in(data_dir);
    const auto st = cluster.status();
    const std::string dir = cluster.data_dir().string();
    using embedded::ServerState;
    switch (st.state) {
        case ServerState::running:
            std::cout << "running\n  url:      " << cluster.conninfo() << "\n  data dir: "
                      << dir << "\n  pid:      " << *st.pid << '\n';
            return 0;
        case ServerState::not_initialized:
            std::cout << "not running: no cluster in " << dir
                      << " yet (`plinth db start` creates one)\n";
            break;
        case ServerState::stopped:
            std::cout << "not running\n  data dir: " << dir << '\n';
            break;
        case ServerState::stale_pid_file:
            std::cout << "not running (stale postmaster.pid naming pid " << *st.pid
                      << ")\n  data dir: " << dir << '\n';
            break;
        case ServerState::foreign_server:
            std::cout << "not running on this folder's socket, but PostgreSQL process "
                      << *st.pid << " holds its data\n  data dir: " << dir << '\n';
            break;
        case ServerState::unresponsive:
            std::cout << "not answering: PostgreSQL process " << *st.pid
                      << " in this data folder is starting or exiting\n  data dir: " << dir << '\n';
            break;
    }
    return 3;
}

}  // namespace plinth::cli
