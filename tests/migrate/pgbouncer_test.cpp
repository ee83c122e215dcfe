// Concurrent migrations through a real transaction-pooling PgBouncer: the advisory lock is
// transaction-scoped, so it holds even though every transaction may land on another server session.
#include <doctest/doctest.h>

#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include <libpq-fe.h>

#include "pg/connection.hpp"
#include "pg_fixture.hpp"
#include "processes.hpp"

namespace fs = std::filesystem;

namespace {

std::map<std::string, std::string> parse_conninfo(const std::string& conninfo) {
    char* error = nullptr;
    PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
    REQUIRE_MESSAGE(options != nullptr, (error ? error : "unparsable conninfo"));
    std::map<std::string, std::string> out;
    for (auto* o = options; o->keyword; ++o)
        if (o->val) out[o->keyword] = o->val;
    PQconninfoFree(options);
    return out;
}

// A PgBouncer in transaction pooling mode on a Unix socket in its own folder, stopped on scope exit.
class PgBouncer {
public:
    PgBouncer(const std::string& server_conninfo, int pool_size) {
        const auto server = parse_conninfo(server_conninfo);
        dir_ = fs::temp_directory_path() / ("plinth-pgbouncer-" + std::to_string(::getpid()));
        fs::create_directories(dir_);
        port_ = 20000 + ::getpid() % 20000;
        const std::string server_port = server.count("port") ? server.at("port") : "5432";
        std::ofstream(dir_ / "users.txt") << "\"" << server.at("user") << "\" \"\"\n";
        std::ofstream(dir_ / "pgbouncer.ini")
            << "[databases]\n* = host=" << server.at("host") << " port=" << server_port << "\n"
            << "[pgbouncer]\nlisten_addr =\nunix_socket_dir = " << dir_.string() << "\nlisten_port = " << port_
            << "\nauth_type = trust\nauth_file = " << (dir_ / "users.txt").string()
            << "\npool_mode = transaction\ndefault_pool_size = " << pool_size
            << "\nmax_client_conn = 200\nignore_startup_parameters = extra_float_digits,options\n"
            << "logfile = " << (dir_ / "pgbouncer.log").string() << "\n";
        const passwd* postgres = ::getuid() == 0 ? ::getpwnam("postgres") : nullptr;
        if (postgres) {
            REQUIRE(::chown(dir_.c_str(), postgres->pw_uid, postgres->pw_gid) == 0);
            for (const auto& f : fs::directory_iterator(dir_)) REQUIRE(::chown(f.path().c_str(), postgres->pw_uid, postgres->pw_gid) == 0);
        }
        pid_ = ::fork();
        REQUIRE(pid_ >= 0);
        if (pid_ == 0) {
            // PgBouncer, like PostgreSQL, refuses to run as root.
            if (postgres && (::setgid(postgres->pw_gid) != 0 || ::initgroups("postgres", postgres->pw_gid) != 0 ||
                             ::setuid(postgres->pw_uid) != 0))
                ::_exit(126);
            const std::string ini = (dir_ / "pgbouncer.ini").string();
            ::execl("/usr/sbin/pgbouncer", "pgbouncer", ini.c_str(), static_cast<char*>(nullptr));
            ::_exit(127);
        }
        const auto socket = dir_ / (".s.PGSQL." + std::to_string(port_));
        for (int i = 0; i < 200 && !fs::exists(socket); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
        REQUIRE_MESSAGE(fs::exists(socket), "pgbouncer did not start; see " << (dir_ / "pgbouncer.log").string());
    }
    ~PgBouncer() {
        ::kill(pid_, SIGTERM);
        ::waitpid(pid_, nullptr, 0);
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
    std::string conninfo(const std::string& dbname, const std::string& user) const {
        return "host=" + dir_.string() + " port=" + std::to_string(port_) + " dbname=" + dbname + " user=" + user;
    }

private:
    fs::path dir_;
    int port_ = 0;
    pid_t pid_ = -1;
};

}  // namespace

TEST_CASE("eight plinth migrate processes through a transaction-pooling PgBouncer with two server connections") {
    const std::string direct = plinth::test::TestCluster::instance().fresh_database();
    const auto target = parse_conninfo(direct);
    PgBouncer bouncer(direct, 2);
    const std::string pooled = bouncer.conninfo(target.at("dbname"), target.at("user"));
    const std::string command = std::string(std::getenv("PLINTH_EXE")) + " migrate --plugins " +
                                std::getenv("PLINTH_TEST_PLUGINS_DIR") + " --database-url '" + pooled + "' >/dev/null 2>&1";
    CHECK(plinth::test::run_concurrently(command, 8) == std::vector<int>(8, 0));
    auto connection = plinth::pg::Connection::open(direct);
    CHECK(connection.exec("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").text(0, 0) == "13");
    CHECK(connection.exec("SELECT count(*) FROM plinth.migrations").text(0, 0) == "1");
    // And a no-op start through the pooler takes the fast path.
    CHECK(std::system(command.c_str()) == 0);
    CHECK(connection.exec("SELECT count(*) FROM plinth.migrations").text(0, 0) == "1");
}
