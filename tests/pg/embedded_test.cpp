// The embedded PostgreSQL's whole life against real servers: initdb, stop/start with data kept,
// leases, stale and foreign pid files, concurrent `plinth db start`, sessions, retries, and a first
// start killed in each of its phases.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <thread>

#include <fcntl.h>
#include <linux/fs.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include "apply/journal.hpp"
#include "cli/command_line.hpp"
#include "database/session.hpp"
#include "embedded/cluster.hpp"
#include "embedded/process.hpp"
#include "embedded/unique_fd.hpp"
#include "log_capture.hpp"
#include "pg/connection.hpp"
#include "pg_fixture.hpp"

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using plinth::embedded::ClusterOptions;
using plinth::embedded::EmbeddedCluster;
using plinth::embedded::ServerState;
using plinth::pg::Connection;
using plinth::test::LogCapture;
using plinth::test::TempDir;

namespace {

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const std::exception& e) {
        return e.what();
    }
    FAIL("expected an exception");
    return {};
}

// Stops the cluster at the end of a test whatever happened, before its folder goes.
struct ScratchCluster {
    TempDir dir;
    LogCapture logs;
    EmbeddedCluster cluster{dir.path(), logs.logger(), ClusterOptions{.throwaway = true}};
    ~ScratchCluster() {
        try {
            cluster.stop();
        } catch (...) {
        }
    }
};

uid_t server_uid() {
    return ::geteuid() == 0 ? plinth::embedded::RunAs::lookup("postgres").uid : ::geteuid();
}

// The real uid of a process, from /proc/<pid>/status.
uid_t process_uid(long pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line))
        if (line.starts_with("Uid:")) return static_cast<uid_t>(std::stoul(line.substr(4)));
    FAIL("no Uid line for process ", pid);
    return 0;
}

long dead_pid() {
    const pid_t pid = ::fork();
    if (pid == 0) ::_exit(0);
    ::waitpid(pid, nullptr, 0);
    return pid;
}

void write_pid_file(const EmbeddedCluster& c, long pid) {
    std::ofstream(c.pgdata() / "postmaster.pid") << pid << '\n' << c.pgdata().string() << "\n";
}

// Makes a folder's entries unremovable while it exists: immutable for root, whom permissions do not
// stop, else without write permission.
class Unremovable {
public:
    explicit Unremovable(const fs::path& dir) : dir_(dir) {
        if (::geteuid() != 0) {
            fs::permissions(dir_, fs::perms::owner_write, fs::perm_options::remove);
            return;
        }
        REQUIRE_MESSAGE(set_immutable(true), "cannot mark ", dir_, " immutable (FS_IOC_SETFLAGS)");
    }
    Unremovable(const Unremovable&) = delete;
    Unremovable& operator=(const Unremovable&) = delete;
    ~Unremovable() {
        if (::geteuid() != 0)
            fs::permissions(dir_, fs::perms::owner_write, fs::perm_options::add);
        else
            set_immutable(false);
    }

private:
    bool set_immutable(bool on) const {
        const plinth::embedded::UniqueFd fd(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        int flags = 0;
        if (!fd || ::ioctl(fd.get(), FS_IOC_GETFLAGS, &flags) != 0) return false;
        flags = on ? flags | FS_IMMUTABLE_FL : flags & ~FS_IMMUTABLE_FL;
        return ::ioctl(fd.get(), FS_IOC_SETFLAGS, &flags) == 0;
    }

    fs::path dir_;
};

// Stands in for a postmaster of this folder that dies while plinth looks at it, as one killed
// together with plinth does: a process named postgres working in pgdata, whose socket takes one
// connection (plinth's ping) without answering; it then exits, a zombie until the destructor.
class DyingPostmaster {
public:
    explicit DyingPostmaster(const EmbeddedCluster& c) {
        const std::string pgdata = c.pgdata().string();
        const std::string socket = (c.data_dir() / ".s.PGSQL.5432").string();
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        REQUIRE(socket.size() < sizeof addr.sun_path);
        std::memcpy(addr.sun_path, socket.c_str(), socket.size() + 1);
        int ready[2];
        REQUIRE(::pipe2(ready, O_CLOEXEC) == 0);
        pid_ = ::fork();
        REQUIRE(pid_ >= 0);
        if (pid_ == 0) {
            const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
            if (::prctl(PR_SET_NAME, "postgres") != 0 || ::chdir(pgdata.c_str()) != 0 || fd < 0 ||
                ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 1) != 0)
                ::_exit(1);
            (void)!::write(ready[1], "x", 1);
            ::close(::accept(fd, nullptr, nullptr));
            ::_exit(0);
        }
        ::close(ready[1]);
        char byte = 0;
        const bool listening = ::read(ready[0], &byte, 1) == 1;
        ::close(ready[0]);
        REQUIRE(listening);
    }
    DyingPostmaster(const DyingPostmaster&) = delete;
    DyingPostmaster& operator=(const DyingPostmaster&) = delete;
    ~DyingPostmaster() {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }

    long pid() const { return pid_; }

private:
    pid_t pid_ = -1;
};

// A pg_session_holder process: holds a DatabaseSession on the embedded server in dir until killed.
class Holder {
public:
    explicit Holder(const fs::path& dir) {
        const char* exe = std::getenv("PG_SESSION_HOLDER");
        REQUIRE_MESSAGE(exe, "PG_SESSION_HOLDER must name the pg_session_holder executable");
        int fds[2];
        REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
        pid_ = ::fork();
        if (pid_ == 0) {
            ::dup2(fds[1], STDOUT_FILENO);
            ::execl(exe, exe, dir.c_str(), static_cast<char*>(nullptr));
            ::_exit(127);
        }
        ::close(fds[1]);
        std::string line;
        char c;
        while (::read(fds[0], &c, 1) == 1 && c != '\n') line += c;
        ::close(fds[0]);
        REQUIRE(line == "ready");
    }
    Holder(const Holder&) = delete;
    Holder& operator=(const Holder&) = delete;
    ~Holder() {
        if (pid_ > 0) kill_and_wait(SIGKILL);
    }

    // The signal that ended the process, or -1 if it exited.
    int kill_and_wait(int sig) {
        ::kill(pid_, sig);
        int status = 0;
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
        return WIFSIGNALED(status) ? WTERMSIG(status) : -1;
    }

private:
    pid_t pid_ = -1;
};

}  // namespace

TEST_CASE("embedded cluster: initdb, stop and start with data kept, as the server's user") {
    ScratchCluster s;
    auto& c = s.cluster;
    CHECK(c.status().state == ServerState::not_initialized);
    CHECK(c.conninfo() == "postgresql:///plinth?host=" + c.data_dir().string() + "&port=5432&user=plinth");

    CHECK(c.start());
    CHECK(s.logs.count("creating a PostgreSQL") == 1);
    const auto running = c.status();
    REQUIRE(running.state == ServerState::running);
    REQUIRE(running.pid);

    // Runs as `postgres` when we are root, owning its files; listens on the socket only.
    CHECK(process_uid(*running.pid) == server_uid());
    struct stat st {};
    REQUIRE(::stat(c.pgdata().c_str(), &st) == 0);
    CHECK(st.st_uid == server_uid());
    REQUIRE(::stat(c.data_dir().c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0700);
    CHECK(fs::exists(c.data_dir() / ".s.PGSQL.5432"));
    CHECK(fs::exists(c.log_file()));

    {
        auto conn = Connection::open(c.conninfo());
        CHECK(conn.exec("SELECT current_user, current_database()").text(0, 0) == "plinth");
        CHECK(conn.exec("SELECT current_database()").text(0, 0) == "plinth");
        CHECK(conn.exec("SHOW listen_addresses").text(0, 0) == "");
        CHECK(conn.exec("SHOW server_encoding").text(0, 0) == "UTF8");
        conn.exec("CREATE TABLE kept (x int); INSERT INTO kept VALUES (42)");
    }

    CHECK_FALSE(c.start());  // already running
    CHECK(c.stop());
    CHECK(c.status().state == ServerState::stopped);
    CHECK_FALSE(c.stop());

    CHECK(c.start());
    CHECK(s.logs.count("creating a PostgreSQL") == 1);  // reused, not recreated
    CHECK(Connection::open(c.conninfo()).exec("SELECT x FROM kept").text(0, 0) == "42");

}

TEST_CASE("embedded cluster: a failed initdb (e.g. a full disk) is reported and leaves nothing behind") {
    ScratchCluster s;
    auto& c = s.cluster;
    {  // Children inherit the file size limit: initdb fails writing WAL, as on a full disk.
        struct Limit {
            rlimit old{};
            Limit() {
                ::getrlimit(RLIMIT_FSIZE, &old);
                rlimit small = old;
                small.rlim_cur = 2 << 20;
                REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
            }
            ~Limit() { ::setrlimit(RLIMIT_FSIZE, &old); }
        } limit;
        const std::string e = error_of([&] { c.start(); });
        CHECK(contains(e, "initdb failed"));
        CHECK(contains(e, "File too large"));  // initdb's own stderr
        CHECK(contains(e, "the partial cluster was removed"));
    }
    CHECK_FALSE(fs::exists(c.pgdata()));
    CHECK_FALSE(fs::exists(c.data_dir() / "pgdata.initdb"));
    CHECK(c.start());  // the next try starts clean
    CHECK(c.status().state == ServerState::running);
}

TEST_CASE("embedded cluster: a half-made cluster that cannot be removed is named, with what to do") {
    LogCapture logs;
    TempDir dir;
    EmbeddedCluster c(dir.path(), logs.logger());
    const fs::path scratch = c.data_dir() / "pgdata.initdb";
    fs::create_directories(scratch / "global");
    REQUIRE(::chown(dir.path().c_str(), server_uid(), static_cast<gid_t>(-1)) == 0);
    {
        const Unremovable stuck(scratch);
        const std::string e = error_of([&] { c.start(); });
        CHECK(contains(e, "cannot remove " + scratch.string() + ", left unfinished by an interrupted initdb"));
        CHECK(contains(e, (scratch / "global").string()));
        CHECK(contains(e, "remove it by hand"));
    }
    CHECK(contains(logs.text(), "removing " + scratch.string()));
}

TEST_CASE("embedded cluster: a stale postmaster.pid is removed, a dying server waited for, a foreign "
          "server's refused") {
    ScratchCluster s;
    auto& c = s.cluster;
    c.start();
    c.stop();

    const long gone = dead_pid();
    write_pid_file(c, gone);
    CHECK(c.status().state == ServerState::stale_pid_file);
    CHECK(c.start());
    CHECK(contains(s.logs.text(), "removing stale"));
    CHECK(contains(s.logs.text(), std::to_string(gone)));
    CHECK(c.status().state == ServerState::running);
    c.stop();

    {  // A zombie is dead, whatever its name.
        const pid_t zombie = ::fork();
        if (zombie == 0) {
            ::prctl(PR_SET_NAME, "postgres");
            ::_exit(0);
        }
        siginfo_t exited{};
        REQUIRE(::waitid(P_PID, static_cast<id_t>(zombie), &exited, WEXITED | WNOWAIT) == 0);
        write_pid_file(c, zombie);
        CHECK(c.status().state == ServerState::stale_pid_file);
        ::waitpid(zombie, nullptr, 0);
    }
    {  // A server of ours that dies as plinth starts is waited for; its lock files, which a new
       // server would refuse while its zombie exists, are removed.
        DyingPostmaster dying(c);
        write_pid_file(c, dying.pid());
        std::ofstream(c.data_dir() / ".s.PGSQL.5432.lock") << dying.pid() << '\n';
        CHECK(c.start());
        CHECK(contains(s.logs.text(), "waiting for PostgreSQL process " + std::to_string(dying.pid())));
        CHECK(c.status().state == ServerState::running);
        c.stop();
    }

    // A live PostgreSQL that is not ours: the fixture's server.
    auto& other = plinth::test::TestCluster::instance();
    long foreign = 0;
    std::ifstream(other.data_dir() / "pgdata" / "postmaster.pid") >> foreign;
    REQUIRE(foreign > 0);
    write_pid_file(c, foreign);
    CHECK(c.status().state == ServerState::foreign_server);
    const std::string refused = error_of([&] { c.start(); });
    CHECK(contains(refused, "pid " + std::to_string(foreign)));
    CHECK(contains(refused, "refusing"));
    CHECK(contains(error_of([&] { c.stop(); }), "refusing to stop it"));
    fs::remove(c.pgdata() / "postmaster.pid");
}

TEST_CASE("embedded cluster: leases stop an on-demand server when its last user leaves") {
    ScratchCluster s;
    auto& c = s.cluster;
    const fs::path marker = c.data_dir() / "ephemeral";
    {
        auto first = c.use();
        CHECK(c.status().state == ServerState::running);
        CHECK(fs::exists(marker));
        {
            EmbeddedCluster again(c.data_dir(), s.logs.logger());
            auto second = again.use();
        }
        CHECK(c.status().state == ServerState::running);  // `first` still uses it
    }
    CHECK(c.status().state == ServerState::stopped);
    CHECK_FALSE(fs::exists(marker));

    // Started by `db start`: users leave it running.
    c.start();
    c.use().release();
    CHECK(c.status().state == ServerState::running);

    // `db start` while an on-demand server runs makes it permanent.
    c.stop();
    auto lease = c.use();
    CHECK(fs::exists(marker));
    c.start();
    CHECK_FALSE(fs::exists(marker));
    lease.release();
    CHECK(c.status().state == ServerState::running);
}

TEST_CASE("SIGTERM or Ctrl-C: the last session still stops its on-demand server") {
    ScratchCluster s;
    auto& c = s.cluster;
    const fs::path marker = c.data_dir() / "ephemeral";
    {
        Holder first(c.data_dir());
        Holder second(c.data_dir());
        CHECK(c.status().state == ServerState::running);
        CHECK(fs::exists(marker));
        CHECK(first.kill_and_wait(SIGTERM) == SIGTERM);
        CHECK(c.status().state == ServerState::running);  // `second` still uses it
        CHECK(second.kill_and_wait(SIGINT) == SIGINT);
        CHECK(c.status().state == ServerState::stopped);
        CHECK_FALSE(fs::exists(marker));
    }
    {  // SIGKILL leaves no chance: the next user that leaves cleans up.
        Holder killed(c.data_dir());
        CHECK(killed.kill_and_wait(SIGKILL) == SIGKILL);
        CHECK(c.status().state == ServerState::running);
        c.use().release();
        CHECK(c.status().state == ServerState::stopped);
    }
}

TEST_CASE("connect_with_retry waits for a server that starts within the timeout") {
    ScratchCluster s;
    auto& c = s.cluster;
    c.start();
    c.stop();

    LogCapture logs;
    std::optional<Connection> conn;
    std::string failure;
    std::thread client([&] {
        try {
            conn.emplace(plinth::pg::connect_with_retry(c.conninfo(), 30s, logs.logger()));
        } catch (const std::exception& e) {
            failure = e.what();
        }
    });
    std::this_thread::sleep_for(1s);
    c.start();
    client.join();
    CHECK(failure == "");
    REQUIRE(conn);
    CHECK(conn->exec("SELECT 1").text(0, 0) == "1");
    CHECK(contains(logs.text(), "database not ready ("));
    CHECK(contains(logs.text(), "retrying in "));
}

TEST_CASE("concurrent `plinth db start` processes: one initdb, one server") {
    const char* exe = std::getenv("PLINTH_EXE");
    REQUIRE_MESSAGE(exe, "PLINTH_EXE must name the plinth executable");
    TempDir dir;
    const std::string data_dir = dir.path().string();
    const auto plinth = [&](const std::string& command) {
        return plinth::embedded::run_process({exe, "db", command, "--data-dir", data_dir});
    };

    std::vector<plinth::embedded::ProcessResult> results(4);
    std::vector<std::thread> starters;
    for (auto& r : results) starters.emplace_back([&r, &plinth] { r = plinth("start"); });
    for (auto& t : starters) t.join();

    std::string all;
    for (const auto& r : results) {
        INFO(r.out, r.err);
        CHECK(r.status == 0);
        all += r.out + r.err;
    }
    const auto count = [&all](const std::string& needle) {
        std::size_t n = 0;
        for (auto at = all.find(needle); at != std::string::npos; at = all.find(needle, at + 1)) ++n;
        return n;
    };
    CHECK(count("creating a PostgreSQL") == 1);
    CHECK(count("started the embedded PostgreSQL") == 1);
    CHECK(count("already running") == 3);

    LogCapture logs;
    EmbeddedCluster c(dir.path(), logs.logger());
    CHECK_FALSE(fs::exists(c.data_dir() / "ephemeral"));

    const auto status = plinth("status");
    CHECK(status.status == 0);
    CHECK(contains(status.out, "running"));
    CHECK(contains(status.out, c.conninfo()));
    CHECK(contains(status.out, "pid:"));
    CHECK(plinth("url").out == c.conninfo() + "\n");

    CHECK(plinth("stop").status == 0);
    const auto stopped = plinth("status");
    CHECK(stopped.status == 3);
    CHECK(contains(stopped.out, "not running"));
}

TEST_CASE("DatabaseSession: --database-url, then $PLINTH_DATABASE_URL, then $DATABASE_URL, then embedded") {
    LogCapture logs;
    ::setenv("PLINTH_DATABASE_URL", "postgresql://a:pw@plinth-host/x", 1);
    ::setenv("DATABASE_URL", "postgresql://b@generic-host/y", 1);

    plinth::database::DatabaseOptions opts;
    opts.url = "host=explicit dbname=z";
    CHECK(plinth::database::DatabaseSession::open(opts, logs.logger()).conninfo() == "host=explicit dbname=z");
    opts.url.clear();
    auto plinth_env = plinth::database::DatabaseSession::open(opts, logs.logger());
    CHECK(plinth_env.conninfo() == "postgresql://a:pw@plinth-host/x");
    CHECK_FALSE(plinth_env.embedded());
    CHECK_FALSE(contains(logs.text(), "a:pw@"));
    ::unsetenv("PLINTH_DATABASE_URL");
    CHECK(plinth::database::DatabaseSession::open(opts, logs.logger()).conninfo() == "postgresql://b@generic-host/y");
    ::unsetenv("DATABASE_URL");

    TempDir dir;
    opts.data_dir = dir.path();
    EmbeddedCluster c(dir.path(), logs.logger());
    {
        auto session = plinth::database::DatabaseSession::open(opts, logs.logger());
        CHECK(session.embedded());
        CHECK(session.conninfo() == c.conninfo());
        CHECK(session.connect().exec("SELECT current_database()").text(0, 0) == "plinth");
    }
    CHECK(c.status().state == ServerState::stopped);  // started for the session only
}

TEST_CASE("add_database_options parses URL, timeout and folder") {
    plinth::database::DatabaseOptions opts;
    CLI::App app;
    auto* migrate = app.add_subcommand("migrate");
    plinth::cli::add_database_options(*migrate, opts);
    CHECK(contains(migrate->help(), "--connect-timeout"));
    app.parse("migrate --database-url postgresql://h/db --connect-timeout 2.5 "
              "--data-dir /tmp/elsewhere",
              false);
    CHECK(opts.url == "postgresql://h/db");
    CHECK(opts.connect_timeout == 2500ms);
    CHECK(opts.data_dir == fs::path("/tmp/elsewhere"));

    plinth::database::DatabaseOptions defaults;
    CLI::App plain;
    plinth::cli::add_database_options(*plain.add_subcommand("migrate"), defaults);
    plain.parse("migrate", false);
    CHECK(defaults.connect_timeout == 30s);
    CHECK(defaults.data_dir == fs::path(".plinth"));
}

TEST_CASE("clear errors for unusable data folders") {
    LogCapture logs;
    CHECK(contains(error_of([&] { EmbeddedCluster("/tmp/" + std::string(120, 'a'), logs.logger()); }),
                   "too long for a Unix socket"));

    {  // A cluster from another major version.
        TempDir dir;
        EmbeddedCluster c(dir.path(), logs.logger());
        fs::create_directory(c.pgdata());
        std::ofstream(c.pgdata() / "PG_VERSION") << "9.6\n";
        const uid_t uid = server_uid();
        for (const auto& p : {dir.path(), c.pgdata()})
            REQUIRE(::chown(p.c_str(), uid, static_cast<gid_t>(-1)) == 0);
        const std::string e = error_of([&] { c.start(); });
        CHECK(contains(e, "PostgreSQL 9.6 cluster"));
        CHECK(contains(e, "are PostgreSQL " + c.binaries().major_version));
    }

    if (::geteuid() == 0) {
        {  // Owned by someone else: both users are named.
            TempDir dir;
            REQUIRE(::chown(dir.path().c_str(), 12345, 12345) == 0);
            const std::string e = error_of([&] { EmbeddedCluster(dir.path(), logs.logger()).start(); });
            CHECK(contains(e, "belongs to user uid 12345"));
            CHECK(contains(e, "runs as postgres (uid"));
        }
        {  // A parent the postgres user cannot enter (like /root).
            TempDir dir;
            REQUIRE(::chmod(dir.path().c_str(), 0700) == 0);
            const std::string e =
                error_of([&] { EmbeddedCluster(dir.path() / "inner", logs.logger()).start(); });
            CHECK(contains(e, "cannot enter " + dir.path().string()));
            CHECK(contains(e, "under /tmp or /var/lib"));
        }
    }
}

namespace {

// A `plinth` command in a process group of its own, so that it can be killed together with what it
// runs (initdb, pg_ctl) without the test; its output is collected as it comes, to tell phases by.
class PlinthProcess {
public:
    // args[0] is the executable's path.
    explicit PlinthProcess(std::vector<std::string> args) {
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        int fds[2];
        REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
        pid_ = ::fork();
        REQUIRE(pid_ >= 0);
        if (pid_ == 0) {
            ::setpgid(0, 0);
            ::dup2(fds[1], STDOUT_FILENO);
            ::dup2(fds[1], STDERR_FILENO);
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
        ::setpgid(pid_, pid_);  // here too, so that a kill right after fork reaches the group
        ::close(fds[1]);
        out_ = fds[0];
    }
    PlinthProcess(const PlinthProcess&) = delete;
    PlinthProcess& operator=(const PlinthProcess&) = delete;
    ~PlinthProcess() {
        if (pid_ > 0) {
            ::kill(-pid_, SIGKILL);
            finish();
        }
        ::close(out_);
    }

    // Collects output until reached() holds, trying it after each read and every 10 ms; false when
    // plinth ends first. After two minutes, a bound no phase comes near, plinth is killed instead.
    bool wait_until(const std::function<bool()>& reached) {
        const auto deadline = std::chrono::steady_clock::now() + 120s;
        while (std::chrono::steady_clock::now() < deadline) {
            if (reached()) return true;
            pollfd p{out_, POLLIN, 0};
            if (::poll(&p, 1, 10) <= 0) continue;
            char buffer[4096];
            const ssize_t n = ::read(out_, buffer, sizeof buffer);
            if (n > 0) output_.append(buffer, static_cast<std::size_t>(n));
            if (n == 0) return reached();
        }
        ::kill(-pid_, SIGKILL);
        return false;
    }
    bool said(const std::string& text) const { return contains(output_, text); }
    const std::string& output() const { return output_; }
    pid_t pid() const { return pid_; }

    // Reaps plinth; its exit status, or 128 + the signal that ended it.
    int finish() {
        int status = 0;
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
        return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
    }

private:
    pid_t pid_ = -1;
    int out_ = -1;
    std::string output_;
};

std::optional<long> postmaster_pid(const fs::path& data_dir) {
    std::ifstream in(data_dir / "pgdata" / "postmaster.pid");
    long pid = 0;
    if (in >> pid && pid > 0) return pid;
    return std::nullopt;
}

// The phases of a first start, each recognised from outside plinth.
enum class Phase { initdb, server_start, database_creation, migration };
// Whom the kill hits: plinth alone (its initdb or pg_ctl left running), or plinth, its process group
// (initdb, pg_ctl) and the server, as when a whole session or container is killed.
enum class Victims { plinth, plinth_and_server };

std::string name_of(Phase phase) {
    switch (phase) {
        case Phase::initdb: return "initdb";
        case Phase::server_start: return "pg_ctl start";
        case Phase::database_creation: return "database creation";
        case Phase::migration: return "migration";
    }
    return "?";
}

}  // namespace

TEST_CASE("embedded cluster: plinth killed anywhere in its first start starts again (kill sweep)") {
    const char* exe = std::getenv("PLINTH_EXE");
    const char* plugins = std::getenv("PLINTH_TEST_PLUGINS_DIR");
    REQUIRE_MESSAGE(exe, "PLINTH_EXE must name the plinth executable");
    REQUIRE_MESSAGE(plugins, "PLINTH_TEST_PLUGINS_DIR must name the shipped plugins' folder");
    ::unsetenv("PLINTH_DATABASE_URL");
    ::unsetenv("DATABASE_URL");

    // A cluster as initdb leaves it (no `plinth` database yet), copied into every case that kills
    // after initdb, which would otherwise dominate the sweep's time.
    ScratchCluster initialized;
    initialized.cluster.start();
    {
        auto conn = Connection::open(initialized.cluster.conninfo("postgres"));
        conn.exec("DROP DATABASE plinth");
        // The sweep kills processes, never the machine, so nothing it checks depends on fsync.
        conn.exec("ALTER SYSTEM SET fsync = off");
    }
    initialized.cluster.stop();

    const struct {
        Phase phase;
        Victims victims;
    } cases[] = {
        {Phase::initdb, Victims::plinth},
        {Phase::server_start, Victims::plinth},
        {Phase::server_start, Victims::plinth_and_server},
        {Phase::database_creation, Victims::plinth},
        {Phase::database_creation, Victims::plinth_and_server},
        {Phase::migration, Victims::plinth_and_server},
    };
    for (const auto& c : cases) {
        INFO("killed in ", name_of(c.phase), ": ",
             std::string(c.victims == Victims::plinth ? "plinth alone"
                                                      : "plinth, its process group and the server"));
        ScratchCluster s;
        const std::string dir = s.dir.path().string();
        if (c.phase != Phase::initdb) {
            REQUIRE(plinth::embedded::run_process({"cp", "-a", initialized.cluster.pgdata().string(), dir})
                        .status == 0);
            REQUIRE(::chown(dir.c_str(), server_uid(), static_cast<gid_t>(-1)) == 0);
        }
        const std::vector<std::string> migrate{exe, "migrate", "--data-dir", dir, "--plugins", plugins};
        {
            PlinthProcess first(migrate);
            // Another instance's stand-in: holding the advisory lock, it keeps plinth waiting inside
            // its migration transaction; when plinth holds it already, plinth is inside it anyway.
            std::optional<Connection> rival;
            const auto reached = [&] {
                switch (c.phase) {
                    case Phase::initdb:
                        return fs::exists(s.cluster.data_dir() / "pgdata.initdb" / "PG_VERSION");
                    case Phase::server_start:
                        return postmaster_pid(s.cluster.data_dir()).has_value();
                    case Phase::database_creation:
                        return first.said("started the embedded PostgreSQL");
                    case Phase::migration:
                        if (!first.said("created database plinth")) return false;
                        if (!rival) {
                            rival.emplace(Connection::open(s.cluster.conninfo()));
                            if (rival->exec("SELECT pg_try_advisory_lock(" +
                                            std::to_string(plinth::apply::kAdvisoryLockKey) + ")")
                                    .text(0, 0) != "t")
                                return true;
                        }
                        return first.said("waiting for another plinth instance's migration");
                }
                return false;
            };
            if (first.wait_until(reached)) {
                if (c.victims == Victims::plinth) {
                    ::kill(first.pid(), SIGKILL);
                } else {
                    const auto server = postmaster_pid(s.cluster.data_dir());
                    ::kill(-first.pid(), SIGKILL);
                    if (server) ::kill(static_cast<pid_t>(*server), SIGKILL);
                }
                CHECK(first.finish() == 128 + SIGKILL);
            } else {
                // Only a machine stalled for longer than the phase lasts gets here: the phase was
                // missed, but the start below must succeed all the same.
                const int status = first.finish();
                INFO(first.output());
                CHECK(status == 0);
                MESSAGE("plinth finished before the phase was reached");
            }
        }
        const auto again = plinth::embedded::run_process(migrate);
        CHECK_MESSAGE(again.status == 0, again.out, again.err);
        const auto stop = plinth::embedded::run_process({exe, "db", "stop", "--data-dir", dir});
        CHECK_MESSAGE(stop.status == 0, stop.out, stop.err);
        CHECK(s.cluster.status().state == ServerState::stopped);
    }
}
