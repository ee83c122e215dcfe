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

TEST_CASE("text format: a plugin's message is one escaped line; it cannot forge records or reach the terminal") {
    auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(10);
    Logging logging({spdlog::level::trace, LogFormat::text}, sink);
    logging.plugin_logger("evil")->info(
        "done\n[2024-05-01T12:00:00.000+00:00] [plinth] [info] forged\r\x1b[31mred\x7f tab\t back\\slash "
        "bad \xff\xc3( c1 \xc2\x9b caf\xc3\xa9");
    const auto lines = sink->last_formatted();
    REQUIRE(lines.size() == 1);
    const std::string& line = lines[0];
    CHECK(line.find('\n') == line.size() - 1);
    CHECK(line.find('\x1b') == std::string::npos);
    const std::string expected =
        "] [evil] [info] done\\n[2024-05-01T12:00:00.000+00:00] [plinth] [info] forged\\r\\x1b[31mred\\x7f tab\\t "
        "back\\\\slash bad \\xff\\xc3( c1 \\u009b caf\xc3\xa9\n";
    CHECK(line.substr(line.size() - expected.size()) == expected);
}

TEST_CASE("a plugin's message longer than the limit is cut, and the line says how much") {
    CHECK(plinth::hosting::escape_text(std::string(5000, 'a')) == std::string(4096, 'a') + " ... (904 bytes cut)");
    // Never in the middle of a character: "é" is two bytes, and only whole ones fit.
    CHECK(plinth::hosting::escape_text("ab\xc3\xa9", 3) == "ab ... (2 bytes cut)");
    CHECK(plinth::hosting::escape_text("short") == "short");

    auto text_sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(10);
    Logging text({spdlog::level::trace, LogFormat::text}, text_sink);
    text.plugin_logger("chatty")->info(std::string(10000, 'x'));
    const auto line = text_sink->last_formatted().at(0);
    CHECK(line.find("] [chatty] [info] " + std::string(4096, 'x') + " ... (5904 bytes cut)\n") != std::string::npos);

    // JSON escapes on its own; the cut still applies.
    auto json_sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(10);
    Logging json({spdlog::level::trace, LogFormat::json}, json_sink);
    json.plugin_logger("chatty")->info("two\nlines " + std::string(5000, 'y'));
    const auto object = nlohmann::json::parse(json_sink->last_formatted().at(0));
    CHECK(object["message"] == "two\nlines " + std::string(4086, 'y') + " ... (914 bytes cut)");
}

TEST_CASE("plinth's own records stay as plinth wrote them") {
    auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(10);
    Logging logging({spdlog::level::trace, LogFormat::text}, sink);
    logging.logger("plinth")->error("migration failed\n  detail: x");
    CHECK(sink->last_formatted().at(0).find("migration failed\n  detail: x\n") != std::string::npos);
}
