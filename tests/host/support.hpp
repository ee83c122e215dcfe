// Helpers shared by the host tests: captured log lines, environment variables set for one test,
// and waiting for a condition with a generous bound (never a timing assertion).
#pragma once

#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/sinks/ringbuffer_sink.h>

#include "host/logging.hpp"

namespace plinth::test {

// Position of the first line containing needle, or -1.
inline long line_position(const std::vector<std::string>& lines, const std::string& needle) {
    for (std::size_t i = 0; i < lines.size(); ++i)
        if (lines[i].find(needle) != std::string::npos) return static_cast<long>(i);
    return -1;
}

// A Logging whose lines (text format) a test can read while plugin threads write.
class CapturedLogs {
public:
    explicit CapturedLogs(spdlog::level::level_enum level = spdlog::level::debug)
        : sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(10000)),
          logging_({level, hosting::LogFormat::text}, sink_) {}

    hosting::Logging& logging() { return logging_; }
    std::vector<std::string> lines() const { return sink_->last_formatted(); }
    bool contains(const std::string& needle) const {
        for (const auto& line : lines())
            if (line.find(needle) != std::string::npos) return true;
        return false;
    }
    long position(const std::string& needle) const { return line_position(lines(), needle); }

private:
    std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
    hosting::Logging logging_;
};

// Sets an environment variable for the lifetime of the object.
class ScopedEnv {
public:
    ScopedEnv(std::string name, const std::string& value) : name_(std::move(name)) {
        if (const char* old = std::getenv(name_.c_str())) previous_ = old;
        ::setenv(name_.c_str(), value.c_str(), 1);
    }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;
    ~ScopedEnv() {
        if (previous_)
            ::setenv(name_.c_str(), previous_->c_str(), 1);
        else
            ::unsetenv(name_.c_str());
    }

private:
    std::string name_;
    std::optional<std::string> previous_;
};

// Polls `done` until it holds or `bound` passes; returns whether it held.
inline bool eventually(const std::function<bool()>& done,
                       std::chrono::milliseconds bound = std::chrono::seconds(60)) {
    const auto deadline = std::chrono::steady_clock::now() + bound;
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
}

inline std::string required_env(const char* name) {
    const char* value = std::getenv(name);
    if (!value || !*value) throw std::runtime_error(std::string(name) + " must be set (meson test sets it)");
    return value;
}

}  // namespace plinth::test
