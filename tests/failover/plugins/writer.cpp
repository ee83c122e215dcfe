// Test plugin "writer": from start to stop, a thread inserts rows with increasing ids through the
// host API, one statement each, and appends one line per attempt to the file its configuration
// names (report = FILE): "<unix ms> <ok|lost|unreachable|error> <id> <sqlstate> <message>". The
// pg_auto_failover scenario (autoctl_test.sh) counts them.
#include <plinth/plinth.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

using namespace plinth::columns;

namespace {

long long unix_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

class Writer {
public:
    void start(plinth::host h) {
        const auto report = h.config("report");
        if (!report) throw std::runtime_error("writer needs report = FILE in its configuration");
        file_ = std::fopen(report->c_str(), "a");
        if (!file_) throw std::runtime_error("cannot open " + *report);
        thread_ = std::thread([this, h] { write(h); });
    }
    void stop(plinth::host) {
        stopping_ = true;
        if (thread_.joinable()) thread_.join();
        if (file_) std::fclose(file_);
    }

private:
    void write(plinth::host h) {
        for (long long id = 1; !stopping_; ++id) {
            std::string outcome = "ok", sqlstate = "-", message;
            try {
                h.execute("INSERT INTO writer_log (id) VALUES ($1)", {std::to_string(id)});
            } catch (const plinth::db_error& e) {
                sqlstate = e.sqlstate().empty() ? "-" : e.sqlstate();
                outcome = e.sqlstate() == PLINTH_DB_CONNECTION_LOST ? "lost"
                          : e.sqlstate().rfind("08", 0) == 0       ? "unreachable"
                                                                   : "error";
                message = e.message();
                for (char& c : message)
                    if (c == '\n') c = ' ';
            }
            std::fprintf(file_, "%lld %s %lld %s %s\n", unix_ms(), outcome.c_str(), id, sqlstate.c_str(), message.c_str());
            std::fflush(file_);
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }

    std::FILE* file_ = nullptr;
    std::thread thread_;
    std::atomic<bool> stopping_{false};
};

plinth::plugin describe() {
    return plinth::plugin("writer", "1.0.0")
        .table(plinth::table("writer_log", {bigint("id").primary_key(), timestamptz("written_at").default_sql("now()")}))
        .runs<Writer>();
}

}  // namespace

PLINTH_PLUGIN(describe)
