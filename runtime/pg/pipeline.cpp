#include "pg/pipeline.hpp"

#include <algorithm>
#include <cerrno>
#include <stdexcept>

#include <poll.h>

namespace plinth::pg {

using Clock = std::chrono::steady_clock;

PipelineError::PipelineError(ErrorFields fields, std::size_t index) : Error(std::move(fields)), index_(index) {}

Pipeline::Pipeline(Connection& conn, Timing timing) : conn_(conn), raw_(conn.require()), timing_(timing) {
    if (PQpipelineStatus(raw_) != PQ_PIPELINE_OFF) throw std::logic_error("the connection is already in pipeline mode");
    // Non-blocking, so that sending never waits on a server that is itself waiting for us to read
    // its results (libpq's advice for pipelines): what cannot go out yet stays in libpq's buffer.
    if (PQsetnonblocking(raw_, 1) != 0) throw detail::result_error(nullptr, raw_, {});
    if (PQenterPipelineMode(raw_) != 1) {
        PQsetnonblocking(raw_, 0);
        throw detail::result_error(nullptr, raw_, {});
    }
}

Pipeline::~Pipeline() {
    // After an exception: results not read yet are read up to a sync and dropped, so that the
    // connection leaves pipeline mode and a ROLLBACK can follow on it.
    if (PQstatus(raw_) == CONNECTION_OK && PQsetnonblocking(raw_, 0) == 0) {
        if (!sent_.empty() && !sync_pending_ && PQpipelineSync(raw_) == 1) sync_pending_ = true;
        bool after_null = false;
        while (sync_pending_ && PQstatus(raw_) == CONNECTION_OK) {
            PGresult* res = PQgetResult(raw_);
            if (!res) {
                if (after_null) break;  // two in a row: nothing more is coming
                after_null = true;
                continue;
            }
            after_null = false;
            if (PQresultStatus(res) == PGRES_PIPELINE_SYNC) sync_pending_ = false;
            PQclear(res);
        }
    }
    PQexitPipelineMode(raw_);
    PQsetnonblocking(raw_, 0);
}

void Pipeline::send(std::string_view sql, const std::vector<std::optional<std::string>>& params, bool flush) {
    std::string text(sql);
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
    if (PQsendQueryParams(raw_, text.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr,
                          nullptr, 0) != 1)
        throw detail::result_error(nullptr, raw_, text);
    // The server flushes its output only when its buffer fills or it is asked to: asking after each
    // statement lets each result arrive when it is done, which is what times it.
    if (timing_ == Timing::per_statement && flush && PQsendFlushRequest(raw_) != 1)
        throw detail::result_error(nullptr, raw_, text);
    unsent_ += text.size() + 64;  // the statement's text and its protocol messages, about
    for (const auto& p : params) unsent_ += p ? p->size() : 0;
    sent_.push_back(std::move(text));
    sent_at_.push_back(Clock::now());
    // One write per statement would cost a system call each here and a wake-up each on the way
    // (a proxy, a pooler); gathered, thousands of statements are a few hundred writes.
    constexpr std::size_t kWriteBytes = 8192;
    if (unsent_ >= kWriteBytes) {
        unsent_ = 0;
        pump(false);
    }
}

std::vector<PipelineResult> Pipeline::sync() {
    completed_.clear();
    if (PQpipelineSync(raw_) != 1) lost();
    sync_pending_ = true;
    unsent_ = 0;
    ++conn_.round_trips_;
    while (sync_pending_) pump(true);
    std::vector<PipelineResult> out = std::move(results_);
    results_.clear();
    const auto sent = sent_.size();
    sent_.clear();
    sent_at_.clear();
    current_has_result_ = false;
    if (failure_) {
        const PipelineError failure = std::move(*failure_);
        failure_.reset();
        out.erase(out.begin() + static_cast<std::ptrdiff_t>(std::min(out.size(), failure.index())), out.end());
        completed_ = std::move(out);
        throw failure;
    }
    if (out.size() != sent) throw std::logic_error("pipeline: a statement's result is missing");
    return out;
}

void Pipeline::pump(bool wait) {
    const int pending = PQflush(raw_);  // 0: all sent; 1: some left for when the socket takes it
    if (pending < 0) lost();
    if (wait) {
        collect();
        if (!sync_pending_) return;
        pollfd fd{PQsocket(raw_), static_cast<short>(POLLIN | (pending ? POLLOUT : 0)), 0};
        int ready;
        do ready = ::poll(&fd, 1, -1);
        while (ready < 0 && errno == EINTR);
        if (ready < 0) lost();
    }
    if (PQconsumeInput(raw_) != 1) lost();
    collect();
}

void Pipeline::collect() {
    for (;;) {
        if (copy_out_) {
            // The rows of a COPY TO STDOUT are read and dropped; its result comes after them.
            char* row = nullptr;
            const int got = PQgetCopyData(raw_, &row, 1);
            if (row) PQfreemem(row);
            if (got > 0) continue;
            if (got == 0) return;  // more to come
            if (got == -2) lost();
            copy_out_ = false;
        }
        if (PQisBusy(raw_)) return;
        PGresult* res = PQgetResult(raw_);
        if (!res) {
            // Either the end of a statement's results, or nothing more has come yet.
            if (!current_has_result_) return;
            current_has_result_ = false;
            continue;
        }
        const auto status = PQresultStatus(res);
        if (status == PGRES_PIPELINE_SYNC) {
            // libpq returns no null after a sync's result.
            PQclear(res);
            sync_pending_ = false;
            return;
        }
        if (current_has_result_ || results_.size() >= sent_.size()) {
            PQclear(res);  // the extended protocol gives one result per statement
            continue;
        }
        const auto index = results_.size();
        Clock::duration elapsed{};
        if (timing_ == Timing::per_statement) {
            const auto now = Clock::now();
            elapsed = now - std::max(last_arrival_, sent_at_[index]);
            last_arrival_ = now;
        }
        current_has_result_ = true;
        if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && status != PGRES_EMPTY_QUERY &&
            status != PGRES_PIPELINE_ABORTED && !failure_) {
            ErrorFields fields = detail::result_error(res, raw_, sent_[index]).fields();
            if (status == PGRES_COPY_IN || status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH)
                fields.message = "COPY is not supported in a pipeline";
            failure_.emplace(std::move(fields), index);
        }
        // Leave the COPY state, so that the results after it come.
        if (status == PGRES_COPY_IN && PQputCopyEnd(raw_, "COPY is not supported in a pipeline") < 0) lost();
        if (status == PGRES_COPY_OUT) copy_out_ = true;
        results_.push_back({Result(res), elapsed});
    }
}

void Pipeline::lost() {
    const auto index = results_.size();
    ErrorFields fields = detail::result_error(nullptr, raw_, index < sent_.size() ? sent_[index] : std::string()).fields();
    if (fields.sqlstate.empty()) fields.sqlstate = "08006";
    // The statement whose result was awaited is the one it happened to.
    if (index < sent_.size()) throw PipelineError(std::move(fields), index);
    throw Error(std::move(fields));
}

}  // namespace plinth::pg
