// The forked upgrade runner: the plugin's step runs in a child process; its plinth_host sends each
// call over a socket pair to plinth (the parent), which runs it on the migration's connection,
// inside the transaction, and answers. Frames are a 4-byte length, then a one-byte kind and fields:
// integers little-endian as the machine has them (both ends are one executable), strings as a
// 4-byte length and the bytes, an absent string as length 0xffffffff.
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "apply/upgrade.hpp"
#include "apply/upgrade_host.hpp"

namespace plinth::apply {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::uint32_t kAbsent = 0xffffffffu;
constexpr std::uint32_t kMaxFrame = 1u << 30;

enum class Kind : std::uint8_t { query = 'Q', begin = 'B', commit = 'C', rollback = 'R', log = 'L', error = 'E', config = 'G', done = 'D' };

struct Writer {
    std::string bytes = std::string(4, '\0');  // the length, filled by finish()
    template <class T> void raw(T v) { bytes.append(reinterpret_cast<const char*>(&v), sizeof v); }
    void str(const std::string& s) { raw(static_cast<std::uint32_t>(s.size())); bytes += s; }
    void opt(const std::optional<std::string>& s) { s ? str(*s) : raw(kAbsent); }
    void failure(const std::optional<CallFailure>& f) {
        raw(static_cast<std::uint8_t>(f ? 1 : 0));
        if (f) { str(f->sqlstate); str(f->message); str(f->detail); str(f->hint); }
    }
    const std::string& finish() {
        const auto n = static_cast<std::uint32_t>(bytes.size() - 4);
        std::memcpy(bytes.data(), &n, 4);
        return bytes;
    }
};

// A message that does not parse: the child is not speaking the relay's protocol.
struct BadFrame : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct Reader {
    const std::string& bytes;
    std::size_t at = 0;
    template <class T> T raw() {
        if (bytes.size() - at < sizeof(T)) throw BadFrame("a truncated message");
        T v;
        std::memcpy(&v, bytes.data() + at, sizeof v);
        at += sizeof v;
        return v;
    }
    std::optional<std::string> opt() {
        const auto n = raw<std::uint32_t>();
        if (n == kAbsent) return std::nullopt;
        if (bytes.size() - at < n) throw BadFrame("a truncated message");
        std::string s = bytes.substr(at, n);
        at += n;
        return s;
    }
    std::string str() { return opt().value_or(""); }
    std::optional<CallFailure> failure() {
        if (raw<std::uint8_t>() == 0) return std::nullopt;
        CallFailure f;
        f.sqlstate = str();
        f.message = str();
        f.detail = str();
        f.hint = str();
        return f;
    }
};

bool write_all(int fd, const std::string& bytes) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
        const auto n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        sent += static_cast<std::size_t>(n);
    }
    return true;
}

enum class Read { ok, closed, timed_out };

// Reads exactly `n` bytes, waiting until `deadline` (none: forever).
Read read_exactly(int fd, char* out, std::size_t n, std::optional<Clock::time_point> deadline) {
    std::size_t got = 0;
    while (got < n) {
        if (deadline) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - Clock::now()).count();
            if (left <= 0) return Read::timed_out;
            pollfd p{fd, POLLIN, 0};
            const int ready = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 1000)));
            if (ready < 0 && errno != EINTR) return Read::closed;
            if (ready <= 0) continue;
        }
        const auto r = ::read(fd, out + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return Read::closed;
        got += static_cast<std::size_t>(r);
    }
    return Read::ok;
}

Read read_frame(int fd, std::string& frame, std::optional<Clock::time_point> deadline = std::nullopt) {
    std::uint32_t n = 0;
    if (const auto r = read_exactly(fd, reinterpret_cast<char*>(&n), 4, deadline); r != Read::ok) return r;
    if (n > kMaxFrame) return Read::closed;
    frame.assign(n, '\0');
    return read_exactly(fd, frame.data(), n, deadline);
}

// ---- the child's side -------------------------------------------------------------------------

// The backend of the child's plinth_host: every call is a frame to plinth and, for those that
// answer, a frame back. A broken socket (plinth gone) ends the child.
class RelayClient final : public UpgradeBackend {
public:
    explicit RelayClient(int fd) : fd_(fd) {}

    std::optional<CallFailure> query(std::uint64_t tx, const std::string& sql,
                                     const std::vector<std::optional<std::string>>& params, Rows& rows) override {
        Writer w;
        w.raw(Kind::query);
        w.raw(tx);
        w.str(sql);
        w.raw(static_cast<std::uint32_t>(params.size()));
        for (const auto& p : params) w.opt(p);
        const auto answer = call(w);
        Reader r{answer};
        if (auto f = r.failure()) return f;
        const auto columns = r.raw<std::uint32_t>();
        for (std::uint32_t c = 0; c < columns; ++c) rows.names.push_back(r.str());
        const auto cells = r.raw<std::uint64_t>();
        for (std::uint64_t i = 0; i < cells; ++i) rows.values.push_back(r.opt());
        rows.affected = r.raw<std::uint64_t>();
        return std::nullopt;
    }
    std::optional<CallFailure> begin(const std::optional<std::string>& isolation_level, std::uint64_t& tx) override {
        Writer w;
        w.raw(Kind::begin);
        w.opt(isolation_level);
        const auto answer = call(w);
        Reader r{answer};
        if (auto f = r.failure()) return f;
        tx = r.raw<std::uint64_t>();
        return std::nullopt;
    }
    std::optional<CallFailure> end(std::uint64_t tx, bool commit) override {
        Writer w;
        w.raw(commit ? Kind::commit : Kind::rollback);
        w.raw(tx);
        const auto answer = call(w);
        Reader r{answer};
        return r.failure();
    }
    void log(std::uint32_t level, const std::string& message) override {
        Writer w;
        w.raw(Kind::log);
        w.raw(level);
        w.str(message);
        send(w);
    }
    void set_error(const std::string& message) override {
        Writer w;
        w.raw(Kind::error);
        w.str(message);
        send(w);
    }
    std::optional<std::string> config(const std::string& key) override {
        Writer w;
        w.raw(Kind::config);
        w.str(key);
        const auto answer = call(w);
        Reader r{answer};
        return r.opt();
    }
    void done(std::uint32_t status) {
        Writer w;
        w.raw(Kind::done);
        w.raw(status);
        send(w);
    }

private:
    void send(Writer& w) {
        if (!write_all(fd_, w.finish())) ::_exit(75);
    }
    std::string call(Writer& w) {
        send(w);
        std::string answer;
        if (read_frame(fd_, answer) != Read::ok) ::_exit(75);
        return answer;
    }
    int fd_;
};

[[noreturn]] void run_child(int fd, const UpgradeStep& step) {
    // Only stdio and the relay stay open: the migration's connection is plinth's alone.
    if (fd != 3) {
        if (::dup2(fd, 3) < 0) ::_exit(71);
        fd = 3;
    }
    ::close_range(4, ~0u, 0);
    // Default dispositions for every signal: a crash must end this process, not run a handler of
    // plinth's (or a test framework's) that goes on in the child.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig = 1; sig < NSIG; ++sig) std::signal(sig, SIG_DFL);
    // The handlers registered so far (atexit, static destructors) are plinth's, inherited with its
    // memory: an exit() in the plugin must not run them (they would stop plinth's server, flush its
    // buffers twice...). Handlers run last registered first, so this one ends the process before.
    ::on_exit([](int status, void*) { ::_exit(status); }, nullptr);
    try {
        RelayClient client(fd);
        UpgradeHost host(step.plugin->name, client);
        const auto status = step.plugin->lifecycle.upgrade(host.raw(), step.previous_version.c_str());
        client.done(status);
    } catch (...) {
        ::_exit(70);
    }
    // No atexit handlers, no static destructors: they belong to plinth's process.
    ::_exit(0);
}

// ---- plinth's side ----------------------------------------------------------------------------

std::string exit_text(int status) {
    if (WIFSIGNALED(status)) {
        const int sig = WTERMSIG(status);
        const char* abbrev = ::sigabbrev_np(sig);
        return "was killed by signal " + std::to_string(sig) + " (" + (abbrev ? std::string("SIG") + abbrev + ": " : "") +
               ::strsignal(sig) + ")" + (WCOREDUMP(status) ? ", core dumped" : "");
    }
    if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
    return "ended with wait status " + std::to_string(status);
}

// The child, killed and reaped if plinth leaves before it ended.
struct Child {
    pid_t pid = -1;
    int wait(bool kill_first) {
        if (pid <= 0) return 0;
        if (kill_first) ::kill(pid, SIGKILL);
        int status = 0;
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        pid = -1;
        return status;
    }
    // Waits at most `bound` for the child to end by itself, then kills it.
    int wait_for(std::chrono::milliseconds bound) {
        const auto until = Clock::now() + bound;
        int status = 0;
        while (Clock::now() < until) {
            const auto r = ::waitpid(pid, &status, WNOHANG);
            if (r == pid) {
                pid = -1;
                return status;
            }
            if (r < 0 && errno != EINTR) {
                pid = -1;
                return 0;
            }
            ::usleep(10000);
        }
        return wait(true);
    }
    ~Child() { wait(true); }
};

struct Fd {
    int fd = -1;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

class Forked final : public UpgradeRunner {
public:
    Forked(ConfigLookup config, std::chrono::milliseconds timeout) : config_(std::move(config)), timeout_(timeout) {}

    void run(const UpgradeStep& step, pg::Connection& connection, spdlog::logger& log) override {
        int sv[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
            throw UpgradeError(describe(step) + ": cannot make the relay's socket pair: " + std::strerror(errno));
        Fd mine{sv[0]}, theirs{sv[1]};
        const pid_t parent = ::getpid();
        Child child;
        child.pid = ::fork();
        if (child.pid < 0) throw UpgradeError(describe(step) + ": cannot fork: " + std::strerror(errno));
        if (child.pid == 0) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (::getppid() != parent) ::_exit(72);
            ::close(sv[0]);
            run_child(sv[1], step);
        }
        ::close(theirs.fd);
        theirs.fd = -1;
        log.debug("{}: running in process {}", describe(step), child.pid);

        UpgradeSession session(connection, *step.plugin, log, config_);
        const auto deadline = Clock::now() + timeout_;
        try {
            relay(step, session, child, mine.fd, deadline);
        } catch (const BadFrame& e) {
            child.wait(true);
            session.finish(PLINTH_ERROR, step, std::string("its process broke the relay's protocol: ") + e.what());
        }
    }

private:
    // Answers the child's calls until its step returns; throws as UpgradeSession::finish does.
    void relay(const UpgradeStep& step, UpgradeSession& session, Child& child, int fd, Clock::time_point deadline) {
        std::string frame;
        for (;;) {
            const auto got = read_frame(fd, frame, deadline);
            if (got == Read::timed_out) {
                child.wait(true);
                session.finish(PLINTH_ERROR, step,
                               "did not return within " + std::to_string(timeout_.count() / 1000) +
                                   " s (--upgrade-timeout): its process was killed");
            }
            if (got == Read::closed) {
                const auto status = child.wait(false);
                session.finish(PLINTH_ERROR, step, "its process " + exit_text(status) + " before the step returned");
            }
            Reader r{frame};
            const auto kind = r.raw<Kind>();
            if (kind == Kind::done) {
                const auto status = r.raw<std::uint32_t>();
                child.wait_for(std::chrono::seconds(5));
                session.finish(status, step, {});
                return;
            }
            Writer w;
            switch (kind) {
                case Kind::query: {
                    const auto tx = r.raw<std::uint64_t>();
                    const auto sql = r.str();
                    std::vector<std::optional<std::string>> params(r.raw<std::uint32_t>());
                    for (auto& p : params) p = r.opt();
                    Rows rows;
                    const auto failure = session.query(tx, sql, params, rows);
                    w.failure(failure);
                    if (!failure) {
                        w.raw(static_cast<std::uint32_t>(rows.names.size()));
                        for (const auto& n : rows.names) w.str(n);
                        w.raw(static_cast<std::uint64_t>(rows.values.size()));
                        for (const auto& v : rows.values) w.opt(v);
                        w.raw(rows.affected);
                    }
                    break;
                }
                case Kind::begin: {
                    std::uint64_t tx = 0;
                    const auto failure = session.begin(r.opt(), tx);
                    w.failure(failure);
                    if (!failure) w.raw(tx);
                    break;
                }
                case Kind::commit:
                case Kind::rollback: w.failure(session.end(r.raw<std::uint64_t>(), kind == Kind::commit)); break;
                case Kind::log: {
                    const auto level = r.raw<std::uint32_t>();
                    session.log(level, r.str());
                    continue;
                }
                case Kind::error: session.set_error(r.str()); continue;
                case Kind::config: w.opt(session.config(r.str())); break;
                default:
                    child.wait(true);
                    throw BadFrame("a message of unknown kind");
            }
            // A child that died meanwhile is seen by the next read.
            write_all(fd, w.finish());
        }
    }

    ConfigLookup config_;
    std::chrono::milliseconds timeout_;
};

}  // namespace

std::unique_ptr<UpgradeRunner> forked_upgrades(ConfigLookup config, std::chrono::milliseconds timeout) {
    return std::make_unique<Forked>(std::move(config), timeout);
}

}  // namespace plinth::apply
