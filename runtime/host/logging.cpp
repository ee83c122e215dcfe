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

// ISO 8601 with milliseconds and the zone's offset, so lines from hosts in other zones sort and compare.
constexpr const char* kTimestamp = "[%Y-%m-%dT%H:%M:%S.%e%z]";

spdlog::sink_ptr stdout_sink(const LogOptions& options) {
    if (options.format == LogFormat::json) {
        if (options.to_stderr) return std::make_shared<spdlog::sinks::stderr_sink_mt>();
        return std::make_shared<spdlog::sinks::stdout_sink_mt>();
    }
    const auto mode = options.color == ColorMode::always  ? spdlog::color_mode::always
                      : options.color == ColorMode::never ? spdlog::color_mode::never
                                                          : spdlog::color_mode::automatic;
    if (options.to_stderr) return std::make_shared<spdlog::sinks::stderr_color_sink_mt>(mode);
    return std::make_shared<spdlog::sinks::stdout_color_sink_mt>(mode);
}

// Between a plugin's logger and the shared sink: cuts (and in text format escapes) the message,
// then hands the record on. Stateless, so as thread-safe as the sink behind it.
class PluginTextSink final : public spdlog::sinks::sink {
public:
    PluginTextSink(spdlog::sink_ptr next, bool escape) : next_(std::move(next)), escape_(escape) {}
    void log(const spdlog::details::log_msg& msg) override {
        const std::string_view payload(msg.payload.data(), msg.payload.size());
        std::string text;
        if (escape_) {
            text = escape_text(payload);
        } else if (payload.size() > kMaxPluginMessage) {
            std::size_t keep = kMaxPluginMessage;
            while (keep > 0 && (static_cast<unsigned char>(payload[keep]) & 0xc0) == 0x80) --keep;  // whole characters
            text = std::string(payload.substr(0, keep)) + " ... (" + std::to_string(payload.size() - keep) + " bytes cut)";
        } else {
            next_->log(msg);
            return;
        }
        auto copy = msg;
        copy.payload = spdlog::string_view_t(text.data(), text.size());
        next_->log(copy);
    }
    void flush() override { next_->flush(); }
    // The sink behind has the formatter.
    void set_pattern(const std::string&) override {}
    void set_formatter(std::unique_ptr<spdlog::formatter>) override {}

private:
    spdlog::sink_ptr next_;
    bool escape_;
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

ColorMode parse_color_mode(const std::string& flag, const char* no_color) {
    if (flag == "always") return ColorMode::always;
    if (flag == "never") return ColorMode::never;
    if (flag == "auto") return no_color && *no_color ? ColorMode::never : ColorMode::automatic;
    throw std::invalid_argument("unknown colour mode \"" + flag + "\" (auto, always, never)");
}

std::unique_ptr<spdlog::formatter> make_formatter(LogFormat format) {
    if (format == LogFormat::json) return std::make_unique<JsonFormatter>();
    return std::make_unique<spdlog::pattern_formatter>(std::string(kTimestamp) + " [%n] [%^%l%$] %v");
}

Logging::Logging(const LogOptions& options) : Logging(options, stdout_sink(options)) {}

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

std::shared_ptr<spdlog::logger> Logging::plugin_logger(const std::string& name) const {
    auto logger = std::make_shared<spdlog::logger>(
        name, std::make_shared<PluginTextSink>(sink_, options_.format == LogFormat::text));
    logger->set_level(options_.level);
    logger->flush_on(spdlog::level::trace);
    return logger;
}

std::shared_ptr<spdlog::logger> Logging::command_logger() const {
    auto sink = stdout_sink(options_);
    if (options_.format == LogFormat::text)
        sink->set_formatter(std::make_unique<spdlog::pattern_formatter>(std::string(kTimestamp) + " [%^%l%$] %v"));
    else
        sink->set_formatter(make_formatter(options_.format));
    auto logger = std::make_shared<spdlog::logger>("", std::move(sink));
    logger->set_level(options_.level);
    return logger;
}

}  // namespace plinth::hosting
