#include "host/logging.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <stdexcept>

#include <nlohmann/json.hpp>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace plinth::hosting {
namespace {

// One JSON object per line; nlohmann escapes the message, so any text a plugin logs stays valid.
class JsonFormatter final : public spdlog::formatter {
public:
    void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
        const auto since_epoch = msg.time.time_since_epoch();
        const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
        const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch - seconds);
        const std::time_t t = seconds.count();
        std::tm utc{};
        ::gmtime_r(&t, &utc);
        char stamp[40];
        const auto n = std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
        std::snprintf(stamp + n, sizeof stamp - n, ".%03dZ", static_cast<int>(millis.count()));

        const auto level = spdlog::level::to_string_view(msg.level);
        const nlohmann::json line = {
            {"time", stamp},
            {"level", std::string(level.data(), level.size())},
            {"logger", std::string(msg.logger_name.data(), msg.logger_name.size())},
            {"message", std::string(msg.payload.data(), msg.payload.size())},
        };
        const std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
        dest.append(text.data(), text.data() + text.size());
    }
    std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonFormatter>(); }
};

}  // namespace

spdlog::level::level_enum parse_log_level(const std::string& name) {
    if (name == "trace") return spdlog::level::trace;
    if (name == "debug") return spdlog::level::debug;
    if (name == "info") return spdlog::level::info;
    if (name == "warn") return spdlog::level::warn;
    if (name == "error") return spdlog::level::err;
    throw std::invalid_argument("unknown log level \"" + name + "\" (trace, debug, info, warn, error)");
}

std::unique_ptr<spdlog::formatter> make_formatter(LogFormat format) {
    if (format == LogFormat::json) return std::make_unique<JsonFormatter>();
    return std::make_unique<spdlog::pattern_formatter>("[%Y-%m-%d %H:%M:%S.%e] [%n] [%^%l%$] %v");
}

Logging::Logging(const LogOptions& options)
    : Logging(options, options.format == LogFormat::json
                           ? spdlog::sink_ptr(std::make_shared<spdlog::sinks::stdout_sink_mt>())
                           : spdlog::sink_ptr(std::make_shared<spdlog::sinks::stdout_color_sink_mt>())) {}

Logging::Logging(const LogOptions& options, spdlog::sink_ptr sink) : options_(options), sink_(std::move(sink)) {
    sink_->set_formatter(make_formatter(options_.format));
}

std::shared_ptr<spdlog::logger> Logging::logger(const std::string& name) const {
    auto logger = std::make_shared<spdlog::logger>(name, sink_);
    logger->set_level(options_.level);
    // Lines reach a pipe or file at once, so a supervisor (or a test) sees them as they happen.
    logger->flush_on(spdlog::level::trace);
    return logger;
}

}  // namespace plinth::hosting
