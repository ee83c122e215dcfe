#include "cli/db_command.hpp"

#include <filesystem>
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "embedded/cluster.hpp"

namespace plinth::cli {

namespace {

embedded::EmbeddedCluster cluster_in(const std::filesystem::path& dir) {
    return embedded::EmbeddedCluster(dir, *spdlog::default_logger());
}

}  // namespace

void add_db_command(CLI::App& app, int& exit_code) {
    auto* db = app.add_subcommand("db", "Manage the embedded PostgreSQL server");
    db->require_subcommand(1);
    // Owned by the callbacks, which live as long as app.
    auto data_dir = std::make_shared<std::filesystem::path>(".plinth");
    const auto add = [&](const char* name, const char* description) {
        auto* sub = db->add_subcommand(name, description);
        sub->add_option("--data-dir", *data_dir, "Folder of the embedded server")
            ->type_name("DIR")
            ->default_str(data_dir->string());
        return sub;
    };

    add("start", "Create the embedded server if needed and start it; it keeps running")
        ->callback([data_dir, &exit_code] {
            auto cluster = cluster_in(*data_dir);
            if (!cluster.start())
                spdlog::info("the embedded PostgreSQL server in {} is already running",
                             cluster.data_dir().string());
            spdlog::info("connect with: psql \"{}\"", cluster.conninfo());
            exit_code = 0;
        });

    add("stop", "Stop the embedded server")->callback([data_dir, &exit_code] {
        auto cluster = cluster_in(*data_dir);
        if (!cluster.stop())
            spdlog::info("the embedded PostgreSQL server in {} was not running",
                         cluster.data_dir().string());
        exit_code = 0;
    });

    add("url", "Print the embedded server's connection URI, e.g. psql \"$(plinth db url)\"")
        ->callback([data_dir, &exit_code] {
            std::cout << cluster_in(*data_dir).conninfo() << '\n';
            exit_code = 0;
        });

    add("status", "Tell whether the embedded server runs (exit status 0) or not (3)")
        ->callback([data_dir, &exit_code] {
            auto cluster = cluster_in(*data_dir);
            const auto st = cluster.status();
            const std::string dir = cluster.data_dir().string();
            using embedded::ServerState;
            switch (st.state) {
                case ServerState::running:
                    std::cout << "running\n  url:      " << cluster.conninfo() << "\n  data dir: "
                              << dir << "\n  pid:      " << *st.pid << '\n';
                    exit_code = 0;
                    return;
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
            }
            exit_code = 3;
        });
}

}  // namespace plinth::cli
