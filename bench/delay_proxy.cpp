// A TCP proxy on loopback that delays every chunk by a fixed time in each direction, so a benchmark
// can see what a client pays per round trip to a distant server (bench/compare.sh).
//
//   delay_proxy --upstream unix:/path/.s.PGSQL.5432|tcp:PORT [--delay-ms 1] [--port 0]
//               [--port-file FILE] [--stats FILE]
//
// It listens on 127.0.0.1 only. Each chunk read from one side is written to the other side once it
// is D ms old, in order: one queue per direction whose deadlines only grow, served by one ppoll loop
// with a nanosecond timeout. TCP_NODELAY on every TCP socket, so Nagle adds nothing of its own.
//
// It counts round trips as turns: a chunk from the client that follows data from the server (or
// opens the connection) starts a new request burst. The counters are rewritten to --stats (as
// "connections=N open=N turns=N up_bytes=N down_bytes=N") whenever a connection opens or ends,
// so a script can wait for open=0 and read the turns of the commands it ran.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <fstream>
#include <list>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

// The most bytes queued towards one side before the proxy stops reading from the other.
constexpr std::size_t kMaxQueued = 8 << 20;
constexpr std::size_t kReadSize = 64 << 10;

class Fd {
public:
    explicit Fd(int fd = -1) noexcept : fd_(fd) {}
    Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
    Fd& operator=(Fd&&) = delete;
    ~Fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    int get() const noexcept { return fd_; }

private:
    int fd_;
};

[[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error(what + ": " + std::strerror(errno));
}

void set_nonblocking(int fd) {
    if (::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) fail("fcntl");
}

void set_nodelay(int fd) {
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

struct Upstream {
    bool unix_socket = false;
    std::string path;  // unix socket path
    int port = 0;      // or a port on 127.0.0.1
};

Upstream parse_upstream(const std::string& s) {
    Upstream u;
    if (s.rfind("unix:", 0) == 0) {
        u.unix_socket = true;
        u.path = s.substr(5);
        if (u.path.size() >= sizeof(sockaddr_un{}.sun_path)) throw std::runtime_error("unix socket path too long");
    } else if (s.rfind("tcp:", 0) == 0) {
        u.port = std::atoi(s.c_str() + 4);
    } else {
        throw std::runtime_error("--upstream must be unix:PATH or tcp:PORT, not " + s);
    }
    return u;
}

Fd connect_upstream(const Upstream& u) {
    if (u.unix_socket) {
        Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::memcpy(addr.sun_path, u.path.c_str(), u.path.size() + 1);
        if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) fail("connect " + u.path);
        set_nonblocking(fd.get());
        return fd;
    }
    Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(u.port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) fail("connect 127.0.0.1");
    set_nodelay(fd.get());
    set_nonblocking(fd.get());
    return fd;
}

struct Chunk {
    Clock::time_point due;
    std::string bytes;
    std::size_t sent = 0;
};

// One direction of a connection: bytes read from `from`, held until due, written to `to`.
struct Pipe {
    std::deque<Chunk> queue;
    std::size_t queued = 0;
    bool eof = false;       // `from` has no more to send
    bool shut = false;      // the write side of `to` was shut down after the queue drained
};

struct Connection {
    Fd client, server;
    Pipe up, down;  // up: client to server
    bool server_spoke = true;  // data came from the server since the client's last chunk
    bool dead = false;

    bool done() const { return up.shut && down.shut; }
};

struct Stats {
    long connections = 0, open = 0, turns = 0, up_bytes = 0, down_bytes = 0;
};

class Proxy {
public:
    Proxy(Upstream upstream, std::chrono::nanoseconds delay, std::string stats_file)
        : upstream_(std::move(upstream)), delay_(delay), stats_file_(std::move(stats_file)) {}

    int listen(int port) {
        listener_ = std::make_unique<Fd>(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        int one = 1;
        ::setsockopt(listener_->get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(static_cast<std::uint16_t>(port));
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);  // loopback only, whatever is asked
        if (::bind(listener_->get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) fail("bind");
        if (::listen(listener_->get(), 64) < 0) fail("listen");
        set_nonblocking(listener_->get());
        socklen_t len = sizeof addr;
        ::getsockname(listener_->get(), reinterpret_cast<sockaddr*>(&addr), &len);
        write_stats();
        return ntohs(addr.sin_port);
    }

    void run() {
        std::vector<pollfd> fds;
        std::vector<std::pair<Connection*, bool>> owners;  // per pollfd after the first: (conn, is client)
        for (;;) {
            fds.assign(1, pollfd{listener_->get(), POLLIN, 0});
            owners.clear();
            const auto now = Clock::now();
            auto next = Clock::time_point::max();
            for (auto& c : conns_) {
                const short client_ev = wants(c.down, now, next, c.up);
                const short server_ev = wants(c.up, now, next, c.down);
                fds.push_back(pollfd{c.client.get(), client_ev, 0});
                owners.emplace_back(&c, true);
                fds.push_back(pollfd{c.server.get(), server_ev, 0});
                owners.emplace_back(&c, false);
            }
            timespec ts{};
            timespec* timeout = nullptr;
            if (next != Clock::time_point::max()) {
                const auto wait = std::max(Clock::duration::zero(), next - now);
                const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(wait).count();
                ts.tv_sec = ns / 1000000000;
                ts.tv_nsec = ns % 1000000000;
                timeout = &ts;
            }
            if (::ppoll(fds.data(), fds.size(), timeout, nullptr) < 0) {
                if (errno == EINTR) continue;
                fail("ppoll");
            }
            if (fds[0].revents & POLLIN) accept_all();
            for (std::size_t i = 1; i < fds.size(); ++i) {
                auto [c, is_client] = owners[i - 1];
                if (c->dead || !fds[i].revents) continue;
                Pipe& in = is_client ? c->up : c->down;   // what this fd sends
                Pipe& out = is_client ? c->down : c->up;  // what is written to this fd
                if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) read_side(*c, is_client, in);
                if (!c->dead && (fds[i].revents & POLLOUT)) write_side(*c, is_client, out);
            }
            // Chunks that fell due while nothing woke their fd for writing.
            const auto after = Clock::now();
            for (auto& c : conns_) {
                if (!c.dead) write_side(c, true, c.down, after);
                if (!c.dead) write_side(c, false, c.up, after);
            }
            bool changed = false;
            for (auto it = conns_.begin(); it != conns_.end();) {
                if (it->dead || it->done()) {
                    it = conns_.erase(it);
                    --stats_.open;
                    changed = true;
                } else {
                    ++it;
                }
            }
            if (changed) write_stats();
        }
    }

private:
    // The poll events one fd needs: reading what it sends (`in`, unless its queue is full) and
    // writing what is due for it (`out`). Sets `next` to the earliest deadline still to come.
    short wants(Pipe& out, Clock::time_point now, Clock::time_point& next, Pipe& in) {
        short ev = 0;
        if (!in.eof && in.queued < kMaxQueued) ev |= POLLIN;
        if (!out.queue.empty()) {
            if (out.queue.front().due <= now) ev |= POLLOUT;
            else if (out.queue.front().due < next) next = out.queue.front().due;
        }
        return ev;
    }

    void accept_all() {
        for (;;) {
            int fd = ::accept4(listener_->get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
            if (fd < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
                std::perror("delay_proxy: accept");
                return;
            }
            Fd client(fd);
            set_nodelay(client.get());
            try {
                Fd server = connect_upstream(upstream_);
                conns_.push_back(Connection{std::move(client), std::move(server), {}, {}});
                ++stats_.connections;
                ++stats_.open;
                write_stats();
            } catch (const std::exception& e) {
                std::fprintf(stderr, "delay_proxy: %s\n", e.what());
            }
        }
    }

    void read_side(Connection& c, bool is_client, Pipe& in) {
        const int fd = is_client ? c.client.get() : c.server.get();
        char buf[kReadSize];
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) return;
            c.dead = true;  // a reset: drop the connection, both sockets close
            return;
        }
        if (n == 0) {
            in.eof = true;
            in.queue.push_back(Chunk{Clock::now() + delay_, {}, 0});  // the shutdown, delayed in order
            return;
        }
        if (is_client) {
            if (c.server_spoke) ++stats_.turns;
            c.server_spoke = false;
            stats_.up_bytes += n;
        } else {
            c.server_spoke = true;
            stats_.down_bytes += n;
        }
        in.queue.push_back(Chunk{Clock::now() + delay_, std::string(buf, static_cast<std::size_t>(n)), 0});
        in.queued += static_cast<std::size_t>(n);
    }

    // Writes the due chunks of `out` to the client (is_client) or to the server.
    void write_side(Connection& c, bool is_client, Pipe& out, Clock::time_point now = Clock::now()) {
        const int fd = is_client ? c.client.get() : c.server.get();
        while (!out.queue.empty() && out.queue.front().due <= now) {
            Chunk& ch = out.queue.front();
            if (ch.bytes.empty()) {  // the other side's end of stream
                ::shutdown(fd, SHUT_WR);
                out.shut = true;
                out.queue.pop_front();
                continue;
            }
            const ssize_t n = ::send(fd, ch.bytes.data() + ch.sent, ch.bytes.size() - ch.sent, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EAGAIN || errno == EINTR) return;
                c.dead = true;
                return;
            }
            ch.sent += static_cast<std::size_t>(n);
            out.queued -= static_cast<std::size_t>(n);
            if (ch.sent < ch.bytes.size()) return;
            out.queue.pop_front();
        }
    }

    void write_stats() const {
        if (stats_file_.empty()) return;
        const std::string tmp = stats_file_ + ".tmp";
        {
            std::ofstream f(tmp, std::ios::trunc);
            f << "connections=" << stats_.connections << " open=" << stats_.open << " turns=" << stats_.turns
              << " up_bytes=" << stats_.up_bytes << " down_bytes=" << stats_.down_bytes << '\n';
        }
        std::rename(tmp.c_str(), stats_file_.c_str());
    }

    Upstream upstream_;
    std::chrono::nanoseconds delay_;
    std::string stats_file_;
    std::unique_ptr<Fd> listener_;
    std::list<Connection> conns_;  // stable addresses while a poll round holds pointers
    Stats stats_;
};

int usage() {
    std::fprintf(stderr,
                 "usage: delay_proxy --upstream unix:PATH|tcp:PORT [--delay-ms D] [--port P] "
                 "[--port-file FILE] [--stats FILE]\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    std::string upstream, port_file, stats_file;
    double delay_ms = 1.0;
    int port = 0;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (i + 1 >= argc) return usage();
        const std::string v = argv[++i];
        if (a == "--upstream") upstream = v;
        else if (a == "--delay-ms") delay_ms = std::atof(v.c_str());
        else if (a == "--port") port = std::atoi(v.c_str());
        else if (a == "--port-file") port_file = v;
        else if (a == "--stats") stats_file = v;
        else return usage();
    }
    if (upstream.empty() || delay_ms < 0) return usage();
    try {
        const auto delay = std::chrono::nanoseconds(static_cast<long long>(delay_ms * 1e6));
        Proxy proxy(parse_upstream(upstream), delay, stats_file);
        const int bound = proxy.listen(port);
        if (!port_file.empty()) {
            const std::string tmp = port_file + ".tmp";
            std::ofstream(tmp) << bound << '\n';
            std::rename(tmp.c_str(), port_file.c_str());  // whole or absent, for a script polling it
        } else {
            std::printf("%d\n", bound);
            std::fflush(stdout);
        }
        proxy.run();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "delay_proxy: %s\n", e.what());
        return 1;
    }
}
