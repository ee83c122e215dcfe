#include "embedded/cluster.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>

#include <libpq-fe.h>
#include <locale.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "model/text.hpp"
#include "pg/connection.hpp"
#include "signals/stop_signals.hpp"

namespace plinth::embedded {

namespace fs = std::filesystem;

namespace {

using model::trim;

// sizeof(sockaddr_un::sun_path) is 108 on Linux, including the terminating NUL.
constexpr std::size_t kMaxSocketPath = 107;

// How long the server may take to start (until it accepts connections) or to stop.
constexpr std::chrono::seconds kServerTimeout{60};
// How long a server process in our data folder may stay silent: starting up, it opens its socket
// within moments; dying, it exits within moments.
constexpr std::chrono::seconds kSettleTimeout{10};
// Lock-table entries per connection slot; see initdb().
constexpr int kMaxLocksPerTransaction = 1024;

std::string read_file(const fs::path& file) {
    std::ifstream in(file);
    std::stringstream content;
    content << in.rdbuf();
    return content.str();
}

// The last lines of a (possibly long) log, for error messages.
std::string tail(const fs::path& file, std::size_t lines) {
    std::ifstream in(file, std::ios::binary | std::ios::ate);
    if (!in) return {};
    const std::streamoff size = in.tellg();
    const std::streamoff from = std::max<std::streamoff>(0, size - 16384);
    in.seekg(from);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::size_t pos = text.size();
    if (pos > 0 && text[pos - 1] == '\n') --pos;
    for (std::size_t n = 0; n < lines && pos != std::string::npos && pos > 0; ++n)
        pos = text.rfind('\n', pos - 1);
    return trim(pos == std::string::npos ? text : text.substr(pos + 1));
}

std::string percent_encode(std::string_view s, bool keep_slash) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || (keep_slash && c == '/')) {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

// pg_ctl hands -o to /bin/sh; single quotes keep every byte literal.
std::string shell_quote(std::string_view s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

std::string with_stderr(std::string message, const ProcessResult& r) {
    const std::string err = trim(r.err.empty() ? r.out : r.err);
    if (!err.empty()) message += ":\n" + err;
    return message;
}

ProcessResult run_checked(const std::vector<std::string>& argv, const RunAs* as,
                          const std::string& what) {
    ProcessResult r = run_process(argv, as);
    if (r.status != 0)
        throw std::runtime_error(
            with_stderr(what + " failed (" + fs::path(argv[0]).filename().string() + " exit status " +
                            std::to_string(r.status) + ")",
                        r));
    return r;
}

bool has_server_binaries(const fs::path& dir) {
    for (const char* name : {"initdb", "pg_ctl", "postgres"})
        if (::access((dir / name).c_str(), X_OK) != 0) return false;
    return true;
}

// "postgres (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)" -> "15"; 9.x releases keep the minor.
std::string major_version_of(const fs::path& bindir) {
    const auto r = run_checked({(bindir / "postgres").string(), "--version"}, nullptr,
                               "asking the PostgreSQL server for its version");
    const auto paren = r.out.find(')');
    const auto at = r.out.find_first_of("0123456789", paren == std::string::npos ? 0 : paren);
    if (at == std::string::npos)
        throw std::runtime_error("cannot read the version from \"" + trim(r.out) + "\"");
    std::size_t end = at;
    while (end < r.out.size() && std::isdigit(static_cast<unsigned char>(r.out[end]))) ++end;
    const int major = std::stoi(r.out.substr(at, end - at));
    if (major < 10 && end < r.out.size() && r.out[end] == '.') {
        ++end;
        while (end < r.out.size() && std::isdigit(static_cast<unsigned char>(r.out[end]))) ++end;
    }
    return r.out.substr(at, end - at);
}

fs::path normalize(const fs::path& p) {
    fs::path abs = fs::absolute(p).lexically_normal();
    if (abs.filename().empty() && abs != abs.root_path()) abs = abs.parent_path();
    return abs;
}

std::optional<long> read_pid(const fs::path& pid_file) {
    std::ifstream in(pid_file);
    long pid = 0;
    if (in >> pid && pid > 0) return pid;
    return std::nullopt;
}

// The state letter of /proc/<pid>/stat ('R', 'S', 'Z' for a zombie, ...); '\0' when unreadable.
char process_state(long pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    std::getline(in, line);
    // The command name before it is in parentheses and may hold spaces and parentheses itself.
    const auto paren = line.rfind(')');
    return paren != std::string::npos && paren + 2 < line.size() ? line[paren + 2] : '\0';
}

// Alive and a PostgreSQL server: after a reboot or in a container the pid may belong to anyone. A
// zombie is dead: a postmaster killed together with plinth stays one until init (its parent, as
// pg_ctl detaches it) reaps it, which can take a second, or forever in a container without an init.
bool is_live_postgres(long pid) {
    if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno != EPERM) return false;
    std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
    std::string name;
    if (!(comm >> name)) return true;  // no /proc: trust kill()
    if (!name.starts_with("postgres") && !name.starts_with("postmaster")) return false;
    const char state = process_state(pid);
    return state != 'Z' && state != 'X';
}

// Whether process pid works in `dir`, as every PostgreSQL server process works in its data folder.
// nullopt when that cannot be read: no permission, or the process is exiting and has let go of it.
std::optional<bool> works_in(long pid, const fs::path& dir) {
    struct stat cwd {};
    struct stat wanted {};
    if (::stat(("/proc/" + std::to_string(pid) + "/cwd").c_str(), &cwd) != 0 ||
        ::stat(dir.c_str(), &wanted) != 0)
        return std::nullopt;
    return cwd.st_dev == wanted.st_dev && cwd.st_ino == wanted.st_ino;
}

bool only_plinth_entries(const fs::path& dir) {
    for (const auto& entry : fs::directory_iterator(dir)) {
        const auto name = entry.path().filename().string();
        if (name != "lock" && name != "users.lock" && name != "ephemeral") return false;
    }
    return true;
}

}  // namespace

ServerBinaries find_server_binaries() {
    std::vector<std::string> tried;
    try {
        const auto r = run_process({"pg_config", "--bindir"});
        const fs::path dir = trim(r.out);
        // On Debian /usr/bin/pg_config comes with libpq-dev and may name a bindir without a server.
        if (r.status == 0 && !dir.empty() && has_server_binaries(dir))
            return {dir, major_version_of(dir)};
        tried.push_back("`pg_config --bindir` (" +
                        (dir.empty() ? std::string("no answer") : dir.string() + " has no server") +
                        ")");
    } catch (const std::system_error&) {
        tried.emplace_back("pg_config (not in PATH)");
    }
    std::vector<std::pair<int, fs::path>> versions;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
        const auto name = entry.path().filename().string();
        const auto digit = [](unsigned char c) { return std::isdigit(c) != 0; };
        if (!name.empty() && std::all_of(name.begin(), name.end(), digit))
            versions.emplace_back(std::stoi(name), entry.path() / "bin");
    }
    std::sort(versions.rbegin(), versions.rend());
    for (const auto& [version, dir] : versions)
        if (has_server_binaries(dir)) return {dir, major_version_of(dir)};
    tried.emplace_back("/usr/lib/postgresql/<version>/bin");
    throw std::runtime_error(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found; looked at " + model::join(tried, ", ") +
        ". Install the `postgresql` package, e.g. `apt-get install postgresql-15`, or pass "
        "--database-url to use an existing server.");
}

EmbeddedCluster::EmbeddedCluster(const fs::path& data_dir, spdlog::logger& log,
                                 ClusterOptions options)
    : dir_(normalize(data_dir)), log_(&log), options_(options) {
    const std::string socket = (dir_ / (".s.PGSQL." + std::to_string(kPort))).string();
    if (socket.size() > kMaxSocketPath)
        throw std::runtime_error("the data folder path is too long for a Unix socket: " + socket +
                                 " has " + std::to_string(socket.size()) +
                                 " bytes, the limit is " + std::to_string(kMaxSocketPath) +
                                 "; choose a shorter --data-dir");
    // pg_ctl puts -D and -l into a shell command inside double quotes, without escaping.
    if (dir_.string().find_first_of("\"$`\\\n") != std::string::npos)
        throw std::runtime_error("the data folder path " + dir_.string() +
                                 " contains a character pg_ctl cannot pass on (\" $ ` \\ or a "
                                 "newline); choose another --data-dir");
    if (::geteuid() == 0) {
        try {
            server_user_ = RunAs::lookup("postgres");
        } catch (const std::runtime_error&) {
            throw std::runtime_error(
                "plinth runs as root, and PostgreSQL refuses to run as root, but there is no "
                "`postgres` system user to run the embedded server as; install the `postgresql` "
                "package (it creates that user) or run plinth as an unprivileged user");
        }
    }
}

std::string EmbeddedCluster::conninfo(std::string_view dbname) const {
    return "postgresql:///" + percent_encode(dbname, false) + "?host=" +
           percent_encode(dir_.string(), true) + "&port=" + std::to_string(kPort) +
           "&user=" + std::string(kSuperuser);
}

const ServerBinaries& EmbeddedCluster::binaries() const {
    if (!binaries_)
        binaries_ = options_.bindir.empty() ? find_server_binaries()
                                            : ServerBinaries{options_.bindir, major_version_of(options_.bindir)};
    return *binaries_;
}

uid_t EmbeddedCluster::server_uid() const {
    return server_user_ ? server_user_->uid : ::geteuid();
}

ClusterStatus EmbeddedCluster::status() const {
    if (!fs::exists(pgdata() / "PG_VERSION")) return {ServerState::not_initialized, std::nullopt};
    const auto pid = read_pid(pgdata() / "postmaster.pid");
    if (!pid) return {ServerState::stopped, std::nullopt};
    if (!is_live_postgres(*pid)) return {ServerState::stale_pid_file, pid};
    // REJECT (starting up, shutting down) still means it is ours and alive.
    if (PQping(conninfo("postgres").c_str()) != PQPING_NO_RESPONSE) return {ServerState::running, pid};
    // Silent. Ours, when it works in our folder: starting up before it opens its socket, or dying.
    // A process that cannot be inspected gets the benefit of the doubt, for a bounded wait.
    if (const auto ours = works_in(*pid, pgdata()); ours && !*ours)
        return {ServerState::foreign_server, pid};
    return {ServerState::unresponsive, pid};
}

ClusterStatus EmbeddedCluster::settled_status() const {
    using clock = std::chrono::steady_clock;
    const auto deadline = clock::now() + kSettleTimeout;
    ClusterStatus st = status();
    if (st.state == ServerState::unresponsive)
        log_->info("waiting for PostgreSQL process {}, which does not answer on {}, to finish starting "
                   "or exiting",
                   *st.pid, dir_.string());
    while (st.state == ServerState::unresponsive && clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        st = status();
    }
    return st;
}

std::runtime_error EmbeddedCluster::unresponsive(long pid) const {
    return std::runtime_error(
        "the PostgreSQL server (pid " + std::to_string(pid) + ") named by " +
        (pgdata() / "postmaster.pid").string() + " has neither answered on the socket in " +
        dir_.string() + " nor exited within " + std::to_string(kSettleTimeout.count()) +
        " s; stop process " + std::to_string(pid) + " (kill " + std::to_string(pid) +
        ") and try again");
}

void EmbeddedCluster::remove_stale_pid_file(long pid) const {
    log_->warn("removing stale {} (process {} is not a running PostgreSQL server)",
               (pgdata() / "postmaster.pid").string(), pid);
    fs::remove(pgdata() / "postmaster.pid");
    // A new server refuses the socket's lock file too while the process it names exists, and a
    // zombie exists.
    const fs::path socket_lock = dir_ / (".s.PGSQL." + std::to_string(kPort) + ".lock");
    if (const auto holder = read_pid(socket_lock); holder && !is_live_postgres(*holder))
        fs::remove(socket_lock);
}

FileLock EmbeddedCluster::lock_state() const {
    fs::create_directories(dir_);
    const auto file = dir_ / "lock";
    try {
        if (auto lock = FileLock::try_lock(file, FileLock::Mode::exclusive)) return std::move(*lock);
    } catch (const std::system_error& e) {
        struct stat st {};
        if (e.code() == std::errc::permission_denied && ::stat(dir_.c_str(), &st) == 0 &&
            st.st_uid != ::geteuid())
            throw owned_by_other(dir_, st.st_uid);
        throw;
    }
    log_->info("waiting for another plinth process, or an initdb it started, to finish working on "
               "the embedded server in {}",
               dir_.string());
    return FileLock(file, FileLock::Mode::exclusive);
}

std::runtime_error EmbeddedCluster::owned_by_other(const fs::path& path, uid_t owner) const {
    return std::runtime_error("the data folder " + path.string() + " belongs to user " +
                              describe_user(owner) + ", but the embedded PostgreSQL server runs as " +
                              describe_user(server_uid()) + "; run plinth as " +
                              describe_user(owner) + " or choose another --data-dir");
}

void EmbeddedCluster::prepare_data_dir() const {
    struct stat st {};
    if (::stat(dir_.c_str(), &st) != 0)
        throw std::system_error(errno, std::generic_category(), "cannot read " + dir_.string());
    const uid_t owner = server_uid();
    if (st.st_uid != owner) {
        // A folder root just made (by us, mkdtemp or mkdir) is handed to the server's user.
        if (::geteuid() == 0 && st.st_uid == 0 && only_plinth_entries(dir_)) {
            if (::chown(dir_.c_str(), owner, server_user_->gid) != 0)
                throw std::system_error(errno, std::generic_category(),
                                        "cannot hand " + dir_.string() + " to user " + server_user_->name);
        } else {
            throw owned_by_other(dir_, st.st_uid);
        }
    }
    if ((st.st_mode & 0077) != 0 && ::chmod(dir_.c_str(), 0700) != 0)
        throw std::system_error(errno, std::generic_category(), "cannot chmod 0700 " + dir_.string());
    if (!server_user_) return;
    // The server (running as postgres) must pass through every parent folder.
    std::vector<fs::path> chain;
    for (fs::path p = dir_; ; p = p.parent_path()) {
        chain.insert(chain.begin(), p);
        if (p == p.root_path()) break;
    }
    if (const auto bad = first_inaccessible(*server_user_, chain, X_OK)) {
        struct stat where {};
        ::stat(chain[*bad].c_str(), &where);
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(where.st_mode & 07777));
        throw std::runtime_error(
            "the embedded PostgreSQL server runs as user " + server_user_->name +
            ", which cannot enter " + chain[*bad].string() + " (owner " + describe_user(where.st_uid) +
            ", mode " + mode + "), so it cannot use the data folder " + dir_.string() +
            "; choose a --data-dir that user can reach, e.g. under /tmp or /var/lib");
    }
}

void EmbeddedCluster::initdb(const FileLock& state_lock) const {
    const fs::path target = pgdata();
    if (fs::exists(target)) {
        if (!fs::is_empty(target))
            throw std::runtime_error(target.string() +
                                     " exists but holds no PostgreSQL cluster (no PG_VERSION); "
                                     "move it away or choose another --data-dir");
        fs::remove(target);
    }
    // initdb works in a side folder that is renamed into place only when complete, so an
    // interrupted or failed run (e.g. a full disk) never leaves a half-made cluster behind.
    const fs::path scratch = dir_ / "pgdata.initdb";
    remove_unfinished_initdb(scratch);
    const auto& bin = binaries();
    std::vector<std::string> argv{(bin.bindir / "initdb").string(), "-D", scratch.string(),
                                  "-U", std::string(kSuperuser), "-E", "UTF8",
                                  "--auth-local=trust", "--auth-host=reject",
                                  // English server messages: connection errors are classified by text.
                                  "--lc-messages=C"};
    if (locale_t probe = ::newlocale(LC_ALL_MASK, "C.UTF-8", nullptr)) {
        ::freelocale(probe);
        argv.emplace_back("--locale=C.UTF-8");
    } else {
        argv.emplace_back("--no-locale");
    }
    if (options_.throwaway) argv.emplace_back("--no-sync");
    log_->info("creating a PostgreSQL {} cluster in {}", bin.major_version, target.string());
    // initdb and the postgres processes it runs hold the state lock too: when plinth is killed, the
    // next plinth gets the lock, and so cleans up the side folder, only once they have all exited.
    const ProcessResult r = run_process(argv, server_user(), &state_lock);
    if (r.status != 0) {
        std::error_code ignored;
        fs::remove_all(scratch, ignored);
        throw std::runtime_error(with_stderr(
            "initdb failed (exit status " + std::to_string(r.status) + ") creating " + target.string() +
                "; the partial cluster was removed",
            r));
    }
    // One migration transaction locks every relation it creates: PostgreSQL's default of 64 locks
    // per transaction stops near 1,000 new tables. Written to the configuration file rather than
    // given on the command line, so ALTER SYSTEM can still change it.
    std::ofstream(scratch / "postgresql.conf", std::ios::app)
        << "\n# plinth: room in the lock table for one migration that creates ~15,000 tables\n"
        << "max_locks_per_transaction = " << kMaxLocksPerTransaction << "\n";
    fs::rename(scratch, target);
}

// Nothing works in it any more (see initdb), but removing it can still fail, e.g. on a read-only or
// damaged file system.
void EmbeddedCluster::remove_unfinished_initdb(const fs::path& scratch) const {
    if (!fs::exists(fs::symlink_status(scratch))) return;
    log_->warn("removing {}, left unfinished by an interrupted initdb", scratch.string());
    try {
        fs::remove_all(scratch);
    } catch (const fs::filesystem_error& e) {
        const fs::path& where = e.path2().empty() ? e.path1() : e.path2();
        throw std::runtime_error("cannot remove " + scratch.string() +
                                 ", left unfinished by an interrupted initdb (" + where.string() +
                                 ": " + e.code().message() + "); remove it by hand, e.g. `rm -rf " +
                                 scratch.string() + "`, and start plinth again");
    }
}

void EmbeddedCluster::check_cluster() const {
    const auto& bin = binaries();
    const std::string version = trim(read_file(pgdata() / "PG_VERSION"));
    if (version != bin.major_version)
        throw std::runtime_error("the data folder " + pgdata().string() + " holds a PostgreSQL " +
                                 version + " cluster, but the server binaries found are PostgreSQL " +
                                 bin.major_version + " (" + bin.bindir.string() +
                                 "); install PostgreSQL " + version +
                                 ", upgrade the cluster with pg_upgrade, or choose another --data-dir");
    struct stat st {};
    if (::stat(pgdata().c_str(), &st) != 0)
        throw std::system_error(errno, std::generic_category(), "cannot read " + pgdata().string());
    if (st.st_uid != server_uid()) throw owned_by_other(pgdata(), st.st_uid);
}

bool EmbeddedCluster::ensure_running_locked(const FileLock& state_lock, bool on_demand) const {
    prepare_data_dir();
    if (!fs::exists(pgdata() / "PG_VERSION")) initdb(state_lock);
    check_cluster();
    const ClusterStatus st = settled_status();
    switch (st.state) {
        case ServerState::running:
            // Also when another plinth started it: one killed before creating the database left
            // the server running without it.
            ensure_database();
            return false;
        case ServerState::stale_pid_file:
            remove_stale_pid_file(*st.pid);
            break;
        case ServerState::foreign_server:
            throw std::runtime_error(
                "another PostgreSQL server (pid " + std::to_string(*st.pid) + ") holds " +
                pgdata().string() + " but is not listening on this folder's socket; refusing to "
                "start a second server on the same data (stop process " + std::to_string(*st.pid) +
                " first)");
        case ServerState::unresponsive:
            throw unresponsive(*st.pid);
        case ServerState::not_initialized:
        case ServerState::stopped:
            break;
    }
    start_server();
    // Marked at once, so a failure below still leaves the server to be stopped by the last user.
    if (on_demand) std::ofstream(dir_ / "ephemeral") << ::getpid() << '\n';
    ensure_database();
    return true;
}

void EmbeddedCluster::start_server() const {
    const auto& bin = binaries();
    std::string dir = dir_.string();
    std::string quoted_dir;  // a double-quoted list entry of unix_socket_directories
    for (char c : dir) quoted_dir += c == '"' ? std::string("\"\"") : std::string(1, c);
    std::string options = "-c listen_addresses='' -c port=" + std::to_string(kPort) +
                          " -c " + shell_quote("unix_socket_directories=\"" + quoted_dir + "\"");
    if (options_.throwaway) options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off";
    const std::vector<std::string> argv{(bin.bindir / "pg_ctl").string(), "start", "-w",
                                        "-t", std::to_string(kServerTimeout.count()),
                                        "-D", pgdata().string(), "-l", log_file().string(),
                                        "-o", options};
    const ProcessResult r = run_process(argv, server_user());
    if (r.status != 0) {
        std::string message = with_stderr("could not start the embedded PostgreSQL server in " +
                                              dir_.string() + " (pg_ctl exit status " +
                                              std::to_string(r.status) + ")",
                                          r);
        const std::string log_tail = tail(log_file(), 15);
        if (!log_tail.empty()) message += "\nlast lines of " + log_file().string() + ":\n" + log_tail;
        throw std::runtime_error(message);
    }
    log_->info("started the embedded PostgreSQL {} server in {}", bin.major_version, dir_.string());
}

void EmbeddedCluster::ensure_database() const {
    // A server found running may still be starting up, when the plinth that ran `pg_ctl start` was
    // killed before pg_ctl returned.
    auto conn = pg::connect_with_retry(conninfo("postgres"), kServerTimeout, *log_);
    if (conn.exec_params("SELECT 1 FROM pg_database WHERE datname = $1",
                         {std::string(kDatabase)}).rows() == 0) {
        conn.exec("CREATE DATABASE " + conn.quote_identifier(kDatabase));
        log_->info("created database {}", kDatabase);
    }
}

bool EmbeddedCluster::stop_locked() const {
    const ClusterStatus st = settled_status();
    switch (st.state) {
        case ServerState::running:
            break;
        case ServerState::stale_pid_file:
            remove_stale_pid_file(*st.pid);
            return false;
        case ServerState::unresponsive:
            throw unresponsive(*st.pid);
        case ServerState::foreign_server:
            throw std::runtime_error("the PostgreSQL server (pid " + std::to_string(*st.pid) +
                                     ") named by " + (pgdata() / "postmaster.pid").string() +
                                     " is not listening on this folder's socket; refusing to stop it");
        case ServerState::not_initialized:
        case ServerState::stopped:
            return false;
    }
    run_checked({(binaries().bindir / "pg_ctl").string(), "stop", "-w", "-t",
                 std::to_string(kServerTimeout.count()), "-m", "fast",
                 "-D", pgdata().string()},
                server_user(), "stopping the embedded PostgreSQL server in " + dir_.string());
    log_->info("stopped the embedded PostgreSQL server in {}", dir_.string());
    return true;
}

bool EmbeddedCluster::start() {
    const FileLock lock = lock_state();
    const bool started = ensure_running_locked(lock, false);
    fs::remove(dir_ / "ephemeral");
    return started;
}

bool EmbeddedCluster::stop() {
    if (!fs::exists(dir_)) return false;
    const FileLock lock = lock_state();
    const bool stopped = stop_locked();
    fs::remove(dir_ / "ephemeral");
    return stopped;
}

ClusterLease EmbeddedCluster::use() {
    std::optional<FileLock> users;
    {
        const FileLock lock = lock_state();
        ensure_running_locked(lock, true);
        // Taken before `lock` is released, so no one can see zero users and stop the server meanwhile.
        users.emplace(dir_ / "users.lock", FileLock::Mode::shared);
    }
    // Outside `lock`: the lease registers with signals::CleanupOnSignal, whose watcher may be waiting for it.
    return ClusterLease(*this, std::move(*users));
}

struct ClusterLease::State {
    State(const EmbeddedCluster& c, FileLock u) : cluster(c), users(std::move(u)) {}

    void release() {
        std::lock_guard guard(mu);
        if (!users) return;
        users.reset();
        const FileLock lock = cluster.lock_state();
        // Exclusive succeeds only when no process holds a lease any more.
        const auto sole = FileLock::try_lock(cluster.data_dir() / "users.lock", FileLock::Mode::exclusive);
        const fs::path marker = cluster.data_dir() / "ephemeral";
        if (!sole || !fs::exists(marker)) return;
        cluster.log_->info("no plinth process uses the embedded server any more; stopping it");
        cluster.stop_locked();
        fs::remove(marker);
    }

    EmbeddedCluster cluster;
    std::mutex mu;
    std::optional<FileLock> users;
    // Last, so it is unregistered before anything it uses is destroyed.
    std::optional<signals::CleanupOnSignal> on_signal;
};

ClusterLease::ClusterLease(const EmbeddedCluster& cluster, FileLock users)
    : state_(std::make_unique<State>(cluster, std::move(users))) {
    state_->on_signal.emplace([s = state_.get()] { s->release(); });
}

ClusterLease::ClusterLease(ClusterLease&&) noexcept = default;

ClusterLease& ClusterLease::operator=(ClusterLease&& other) noexcept {
    if (this != &other) {
        ClusterLease old(std::move(*this));
        state_ = std::move(other.state_);
    }
    return *this;
}

ClusterLease::~ClusterLease() {
    if (!state_) return;
    try {
        state_->release();
    } catch (const std::exception& e) {
        state_->cluster.log_->error("could not stop the embedded PostgreSQL server: {}", e.what());
    }
}

void ClusterLease::release() {
    if (state_) state_->release();
}

}  // namespace plinth::embedded
