// libpq's pipeline mode over a pg::Connection: statements go out without waiting for the result of
// the one before, and their results come back in one round trip for the lot, instead of one each.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pg/connection.hpp"

namespace plinth::pg {

// Statement `index()` (0-based, in the order sent) of a pipeline failed; statement() is its SQL and
// sqlstate() the server's. The statements after it in the pipeline did not run, and the
// transaction they ran in is aborted: the caller rolls it back.
class PipelineError : public Error {
public:
    PipelineError(ErrorFields fields, std::size_t index);
    std::size_t index() const noexcept { return index_; }

private:
    std::size_t index_;
};

// One statement's result, and the time between the arrival of the result before it (or of the
// first send) and its own: the statement's time on the server, give or take the network (zero
// when the pipeline does not time its statements).
struct PipelineResult {
    Result result;
    std::chrono::steady_clock::duration elapsed;
};

// Enters pipeline mode on construction and leaves it on destruction, reading and discarding what
// a sync() cut short by an exception left. Meant inside a pg::Transaction: outside one, the
// statements up to each sync run in an implicit transaction of their own. The connection must
// outlive the pipeline, and nothing else may use it while the pipeline exists.
class Pipeline {
public:
    // per_statement: the server is asked to send each result as soon as it is done, which times
    // it. none: results come as the server's output buffer fills, a few writes for thousands of
    // statements instead of one each (what a proxy or a network hop handles one by one).
    enum class Timing { per_statement, none };

    explicit Pipeline(Connection& conn, Timing timing = Timing::per_statement);
    Pipeline(const Pipeline&) = delete;
    Pipeline& operator=(const Pipeline&) = delete;
    ~Pipeline();

    // Queues one statement with $1..$n bound as text (nullopt: SQL NULL), like exec_params: the
    // extended protocol runs exactly one statement. Statements go out in writes of about 8 KiB, so
    // the server starts on the first ones while later ones are queued. With per_statement timing,
    // `flush` false leaves this statement's result in the server's buffer until a later flush: the
    // results of a run of such statements arrive with the next flushed one's, in one packet instead
    // of one each, and the first of them carries the run's time (the others about zero).
    void send(std::string_view sql, const std::vector<std::optional<std::string>>& params = {},
              bool flush = true);
    // Sends a sync and reads every result up to it: one round trip. Returns one result per
    // statement sent since the last sync, in order. Throws PipelineError for the first statement
    // that failed (COPY is refused as a failure too), or for the statement whose result was awaited
    // when the connection was lost (SQLSTATE 08006; pg::Error when none was).
    std::vector<PipelineResult> sync();
    // After sync() threw PipelineError: the results of the statements before the failing one.
    std::vector<PipelineResult>& completed() noexcept { return completed_; }

private:
    // Moves out what the socket takes and in what it has, and collects the complete results.
    // `wait`: first blocks until the socket is ready for either.
    void pump(bool wait);
    // Takes every complete result libpq holds, up to the sync's.
    void collect();
    // The connection failed (08006 unless libpq's error says otherwise).
    [[noreturn]] void lost();

    Connection& conn_;
    PGconn* raw_;
    Timing timing_;
    std::size_t unsent_ = 0;                 // about the bytes queued since the last write
    std::vector<std::string> sent_;          // the SQL of each statement since the last sync
    std::vector<std::chrono::steady_clock::time_point> sent_at_;
    std::vector<PipelineResult> results_;    // one per statement whose result came
    std::vector<PipelineResult> completed_;
    bool current_has_result_ = false;        // results_.back() belongs to the statement in progress
    bool sync_pending_ = false;              // a sync was sent whose result has not come
    bool copy_out_ = false;                  // reading (and dropping) the rows of a COPY TO STDOUT
    std::optional<PipelineError> failure_;   // the first statement that failed
    std::chrono::steady_clock::time_point last_arrival_;
};

}  // namespace plinth::pg
