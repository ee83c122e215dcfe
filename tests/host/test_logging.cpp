// Logging: one logger per plugin named after it, the level filter, and the JSON line format.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include "host/logging.hpp"

using plinth::hosting::LogFormat;
using plinth::hosting::Logging;
using plinth::hosting::parse_log_level;

TEST_CASE("--log-level names map to spdlog levels; anything else is refused") {
    CHECK(parse_log_level("trace") == spdlog::level::trace);
    CHECK(parse_log_level("warn") == spdlog::level::warn);
    CHECK(parse_log_level("error") == spdlog::level::err);
    CHECK_THROWS_WITH_AS(parse_log_level("loud"), "unknown log level \"loud\" (trace, debug, info, warn, error)",
                         std::invalid_argument);
}

TEST_CASE("text lines name the logger and level; the level filters") {
    auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(10);
    Logging logging({spdlog::level::info, LogFormat::text}, sink);
    auto logger = logging.logger("project-management");
    logger->debug("hidden");
    logger->info("shown");
    const auto lines = sink->last_formatted();
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].find("] [project-management] [info] shown") != std::string::npos);
}

TEST_CASE("json format: one object per line with time, level, logger and the message escaped") {
    auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(10);
    Logging logging({spdlog::level::trace, LogFormat::json}, sink);
    logging.logger("core")->warn("quote \" backslash \\ newline \n tab \t done");
    const auto lines = sink->last_formatted();
    REQUIRE(lines.size() == 1);
    const std::string& line = lines[0];
    CHECK(line.back() == '\n');
    CHECK(line.find('\n') == line.size() - 1);  // the message's newline is escaped
    const auto object = nlohmann::json::parse(line);
    CHECK(object["level"] == "warning");
    CHECK(object["logger"] == "core");
    CHECK(object["message"] == "quote \" backslash \\ newline \n tab \t done");
    const std::string time = object["time"];
    CHECK(time.size() == 24);  // 2024-05-01T12:00:00.123Z
    CHECK(time.back() == 'Z');
}
