#include "pg_fixture.hpp"

#include <cerrno>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <grp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "embedded/cluster.hpp"
#include "embedded/unique_fd.hpp"
#include "pg/connection.hpp"

namespace plinth::test {

namespace fs = std::filesystem;

namespace {

fs::path make_temp_dir() {
    std::string pattern = (fs::temp_directory_path() / "plinth-test-XXXXXX").string();
    if (!::mkdtemp(pattern.data()))
        throw std::system_error(errno, std::generic_category(), "mkdtemp " + pattern);
    return pattern;
}

// A process outside our process group that waits for the end of a pipe: a byte means we cleaned
// up ourselves; end-of-file without one means we died, so it stops the server and removes the
// folder. Everything it runs after fork is prepared before, so it is async-signal-safe.
pid_t start_watchdog(const embedded::EmbeddedCluster& cluster, embedded::UniqueFd& pipe_out) {
    const std::string pg_ctl = (cluster.binaries().bindir / "pg_ctl").string();
    const std::string pgdata = cluster.pgdata().string();
    const std::string dir = cluster.data_dir().string();
    std::vector<const char*> stop_argv{pg_ctl.c_str(), "stop", "-D", pgdata.c_str(), "-m",
                                       "immediate", "-w", nullptr};
    std::vector<const char*> rm_argv{"/bin/rm", "-rf", "--", dir.c_str(), nullptr};
    const embedded::RunAs* as = cluster.server_user();
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe2");
    embedded::UniqueFd read_end(fds[0]);
    pipe_out.reset(fds[1]);
    embedded::UniqueFd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));

    const pid_t pid = ::fork();
    if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork");
    if (pid != 0) return pid;
    ::setsid();  // survive a kill aimed at the test's process group
    ::dup2(read_end.get(), STDIN_FILENO);
    ::dup2(devnull.get(), STDOUT_FILENO);
    ::dup2(devnull.get(), STDERR_FILENO);
    ::close_range(3, ~0U, 0);
    char byte;
    ssize_t n;
    while ((n = ::read(STDIN_FILENO, &byte, 1)) < 0 && errno == EINTR) {
    }
    if (n == 1) ::_exit(0);
    if (const pid_t stopper = ::fork(); stopper == 0) {
        if (!as || (::setgroups(as->groups.size(), as->groups.data()) == 0 &&
                    ::setgid(as->gid) == 0 && ::setuid(as->uid) == 0))
            ::execv(stop_argv[0], const_cast<char* const*>(stop_argv.data()));
        ::_exit(127);
    } else if (stopper > 0) {
        ::waitpid(stopper, nullptr, 0);
    }
    if (const pid_t remover = ::fork(); remover == 0) {
        ::execv(rm_argv[0], const_cast<char* const*>(rm_argv.data()));
        ::_exit(127);
    } else if (remover > 0) {
        ::waitpid(remover, nullptr, 0);
    }
    ::_exit(0);
}

// Debian's layout: <prefix>/lib/postgresql/<major>/bin and <prefix>/share/postgresql/<major>.
fs::path share_dir_of(const fs::path& bindir) {
    const fs::path major = bindir.parent_path().filename();
    return bindir.parent_path().parent_path().parent_path().parent_path() / "share" / "postgresql" / major;
}

// The PostgreSQL tree without pgvector that TestCluster::without_pgvector() runs (see there), in
// `root`, which mirrors the real absolute paths. Returns its bin folder.
fs::path make_tree_without_pgvector(const fs::path& root) {
    const fs::path bindir = embedded::find_server_binaries().bindir;
    const fs::path sharedir = share_dir_of(bindir);
    if (!fs::is_directory(sharedir / "extension"))
        throw std::runtime_error("no PostgreSQL share folder at " + sharedir.string() + " (Debian layout expected)");
    const fs::path bin = root / bindir.relative_path();
    const fs::path share = root / sharedir.relative_path();
    fs::create_directories(bin);
    fs::create_directories(share / "extension");
    for (const char* program : {"postgres", "initdb", "pg_ctl"})
        fs::copy_file(bindir / program, bin / program);
    fs::create_directory_symlink(bindir.parent_path() / "lib", bin.parent_path() / "lib");
    for (const auto& entry : fs::directory_iterator(sharedir))
        if (entry.path().filename() != "extension") fs::create_symlink(entry.path(), share / entry.path().filename());
    for (const auto& entry : fs::directory_iterator(sharedir / "extension"))
        if (!entry.path().filename().string().starts_with("vector"))
            fs::create_symlink(entry.path(), share / "extension" / entry.path().filename());
    // The server runs as `postgres` when the tests run as root: it must reach every folder.
    for (fs::path p = bin; p != root.parent_path(); p = p.parent_path())
        fs::permissions(p, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                               fs::perms::others_read | fs::perms::others_exec);
    for (fs::path p = share / "extension"; p != root; p = p.parent_path())
        fs::permissions(p, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                               fs::perms::others_read | fs::perms::others_exec);
    return bin;
}

}  // namespace

struct TestCluster::Impl {
    explicit Impl(bool with_pgvector)
        : dir(make_temp_dir()),
          log(std::make_shared<spdlog::logger>("pg-fixture",
                                               std::make_shared<spdlog::sinks::stderr_sink_mt>())) {
        log->set_level(spdlog::level::warn);
        try {
            embedded::ClusterOptions options{.throwaway = true};
            if (!with_pgvector) {
                tree = make_temp_dir();
                options.bindir = make_tree_without_pgvector(*tree);
            }
            cluster.emplace(dir, *log, options);
            watchdog = start_watchdog(*cluster, watchdog_pipe);
            cluster->start();
        } catch (...) {
            cleanup();
            throw;
        }
    }
    ~Impl() { cleanup(); }

    void cleanup() noexcept {
        try {
            if (cluster) cluster->stop();
        } catch (const std::exception& e) {
            log->error("stopping the test cluster in {}: {}", dir.string(), e.what());
        }
        std::error_code ignored;
        fs::remove_all(dir, ignored);
        if (tree) fs::remove_all(*tree, ignored);
        if (watchdog > 0) {
            (void)!::write(watchdog_pipe.get(), "x", 1);
            watchdog_pipe.reset();
            ::waitpid(watchdog, nullptr, 0);
            watchdog = -1;
        }
    }

    fs::path dir;
    std::optional<fs::path> tree;  // the PostgreSQL tree without pgvector, when the server runs from one
    std::shared_ptr<spdlog::logger> log;
    std::optional<embedded::EmbeddedCluster> cluster;
    pid_t watchdog = -1;
    embedded::UniqueFd watchdog_pipe;
    std::mutex mu;
    int databases = 0;
};

TestCluster::TestCluster(bool with_pgvector) : impl_(std::make_unique<Impl>(with_pgvector)) {}

TestCluster::~TestCluster() = default;

TestCluster& TestCluster::instance() {
    static TestCluster cluster(true);
    return cluster;
}

TestCluster& TestCluster::without_pgvector() {
    static TestCluster cluster(false);
    return cluster;
}

bool TestCluster::pgvector_installed() {
    return fs::exists(share_dir_of(embedded::find_server_binaries().bindir) / "extension" / "vector.control");
}

std::string TestCluster::conninfo_for(const std::string& dbname) const {
    return impl_->cluster->conninfo(dbname);
}

std::string TestCluster::admin_conninfo() const { return conninfo_for("postgres"); }

const fs::path& TestCluster::data_dir() const { return impl_->cluster->data_dir(); }

std::string TestCluster::fresh_database() {
    std::string name;
    {
        std::lock_guard lock(impl_->mu);
        name = "test_" + std::to_string(::getpid()) + "_" + std::to_string(++impl_->databases);
    }
    auto conn = pg::Connection::open(admin_conninfo());
    conn.exec("CREATE DATABASE " + conn.quote_identifier(name));
    return conninfo_for(name);
}

// One server of a ReplicaPair with its folder and watchdog.
struct ReplicaServer {
    ReplicaServer(const fs::path& dir, spdlog::logger& log)
        : dir(dir), cluster(dir, log, embedded::ClusterOptions{.throwaway = true}) {
        watchdog = start_watchdog(cluster, watchdog_pipe);
    }
    ~ReplicaServer() {
        try {
            cluster.stop();
        } catch (const std::exception&) {  // the watchdog stops it then
        }
        std::error_code ignored;
        fs::remove_all(dir, ignored);
        (void)!::write(watchdog_pipe.get(), "x", 1);
        watchdog_pipe.reset();
        ::waitpid(watchdog, nullptr, 0);
    }
    void pg_ctl(const std::vector<std::string>& args) const {
        std::vector<std::string> argv{(cluster.binaries().bindir / "pg_ctl").string()};
        argv.insert(argv.end(), args.begin(), args.end());
        const auto r = embedded::run_process(argv, cluster.server_user());
        if (r.status != 0) throw std::runtime_error("pg_ctl " + args.front() + " failed: " + r.err + r.out);
    }

    fs::path dir;
    embedded::EmbeddedCluster cluster;
    pid_t watchdog = -1;
    embedded::UniqueFd watchdog_pipe;
};

struct ReplicaPair::Impl {
    Impl()
        : log(std::make_shared<spdlog::logger>("replica-fixture", std::make_shared<spdlog::sinks::stderr_sink_mt>())) {
        log->set_level(spdlog::level::warn);
        primary.emplace(make_temp_dir(), *log);
        primary->cluster.start();
        const fs::path standby_dir = make_temp_dir();
        // pg_basebackup runs as the server's user and writes into the folder.
        if (const auto* as = primary->cluster.server_user())
            if (::chown(standby_dir.c_str(), as->uid, as->gid) != 0)
                throw std::system_error(errno, std::generic_category(), "chown " + standby_dir.string());
        const auto r = embedded::run_process(
            {(primary->cluster.binaries().bindir / "pg_basebackup").string(), "-D", (standby_dir / "pgdata").string(),
             "-R", "-X", "stream", "-c", "fast", "-d",
             "host=" + primary->dir.string() + " port=5432 user=plinth dbname=postgres"},
            primary->cluster.server_user());
        if (r.status != 0) throw std::runtime_error("pg_basebackup failed: " + r.err + r.out);
        standby.emplace(standby_dir, *log);
        standby->cluster.start();
    }

    std::shared_ptr<spdlog::logger> log;
    std::optional<ReplicaServer> primary;
    std::optional<ReplicaServer> standby;
    std::mutex mu;
    int databases = 0;
};

ReplicaPair::ReplicaPair() : impl_(std::make_unique<Impl>()) {}

ReplicaPair::~ReplicaPair() = default;

std::string ReplicaPair::primary_conninfo(const std::string& dbname) const {
    return impl_->primary->cluster.conninfo(dbname);
}

std::string ReplicaPair::standby_conninfo(const std::string& dbname) const {
    return impl_->standby->cluster.conninfo(dbname);
}

std::string ReplicaPair::cluster_conninfo(const std::string& dbname) const {
    return "host=" + impl_->primary->dir.string() + "," + impl_->standby->dir.string() +
           " port=5432 user=plinth dbname=" + dbname + " target_session_attrs=read-write";
}

std::string ReplicaPair::fresh_database() {
    std::string name;
    {
        std::lock_guard lock(impl_->mu);
        name = "failover_" + std::to_string(::getpid()) + "_" + std::to_string(++impl_->databases);
    }
    auto conn = pg::Connection::open(primary_conninfo("postgres"));
    conn.exec("CREATE DATABASE " + conn.quote_identifier(name));
    wait_for_standby();
    return name;
}

void ReplicaPair::wait_for_standby() {
    auto primary = pg::Connection::open(primary_conninfo("postgres"));
    const std::string lsn = primary.exec("SELECT pg_current_wal_lsn()::text").text(0, 0);
    auto standby = pg::Connection::open(standby_conninfo("postgres"));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (standby.exec_params("SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn", {lsn}).text(0, 0) != "t") {
        if (std::chrono::steady_clock::now() > deadline)
            throw std::runtime_error("the standby did not replay up to " + lsn + " within 60 s");
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

void ReplicaPair::stop_primary() { impl_->primary->cluster.stop(); }

void ReplicaPair::promote_standby() {
    impl_->standby->pg_ctl({"promote", "-w", "-D", impl_->standby->cluster.pgdata().string()});
}

TempDir::TempDir() : path_(make_temp_dir()) {}

TempDir::~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
}

}  // namespace plinth::test
