// Logging of `plinth run`: one sink for the whole process, a logger named "plinth" for the host
// and one logger per plugin, named after it. Text lines or one JSON object per line.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include <spdlog/common.h>

#include "model/text.hpp"

namespace spdlog {
class logger;
class formatter;
}  // namespace spdlog

namespace plinth::hosting {

enum class LogFormat { text, json };

// Colour of text logs: `automatic` colours a terminal only.
enum class ColorMode { automatic, always, never };

struct LogOptions {
    spdlog::level::level_enum level = spdlog::level::info;
    LogFormat format = LogFormat::text;
    ColorMode color = ColorMode::automatic;
    bool to_stderr = false;  // stdout unless a command's output (JSON, SQL) owns it
};

// --color auto|always|never, where "auto" honours the NO_COLOR convention (no-color.org): set and
// not empty means never. Throws std::invalid_argument for another word.
ColorMode parse_color_mode(const std::string& flag, const char* no_color);

// "trace", "debug", "info", "warn", "error" -> the level; throws std::invalid_argument otherwise.
spdlog::level::level_enum parse_log_level(const std::string& name);

// text: "[2024-05-01T12:00:00.123+00:00] [core] [info] message" (local time with its zone)
// json: {"time":"2024-05-01T12:00:00.123Z","level":"info","logger":"core","message":"message"}
std::unique_ptr<spdlog::formatter> make_formatter(LogFormat format);

// escape_text and kMaxPluginMessage, which apply/ uses too, live in model/text.hpp.
using model::escape_text;
using model::kMaxPluginMessage;

class Logging {
public:
    // Writes to stdout (coloured on a terminal in text format).
    explicit Logging(const LogOptions& options);
    // Writes to `sink`, e.g. a test's memory sink; the sink's formatter is replaced.
    Logging(const LogOptions& options, spdlog::sink_ptr sink);

    // A new logger writing to this sink at the configured level; not registered globally.
    std::shared_ptr<spdlog::logger> logger(const std::string& name) const;
    // The same for a plugin's own messages, which are its text, not plinth's: each is cut at
    // kMaxPluginMessage bytes and, in text format, escaped with escape_text, so that it stays one
    // line and cannot forge other records or reach the terminal as escape sequences. (JSON escapes.)
    std::shared_ptr<spdlog::logger> plugin_logger(const std::string& name) const;
    // The logger of the commands other than `run`: text lines without a logger name.
    std::shared_ptr<spdlog::logger> command_logger() const;

private:
    LogOptions options_;
    spdlog::sink_ptr sink_;
};

}  // namespace plinth::hosting
