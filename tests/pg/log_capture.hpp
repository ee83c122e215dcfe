// A logger whose output a test can read.
#pragma once

#include <memory>
#include <sstream>
#include <string>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

namespace plinth::test {

class LogCapture {
public:
    LogCapture()
        : logger_("test", std::make_shared<spdlog::sinks::ostream_sink_mt>(stream_)) {
        logger_.set_level(spdlog::level::debug);
        logger_.set_pattern("%l %v");
    }

    spdlog::logger& logger() { return logger_; }
    std::string text() {
        logger_.flush();
        return stream_.str();
    }
    std::size_t count(const std::string& needle) {
        const std::string all = text();
        std::size_t n = 0;
        for (auto at = all.find(needle); at != std::string::npos; at = all.find(needle, at + 1)) ++n;
        return n;
    }

private:
    std::ostringstream stream_;
    spdlog::logger logger_;
};

}  // namespace plinth::test
