#include <doctest/doctest.h>

#include <random>
#include <regex>
#include <string>
#include <vector>

#include "model/text.hpp"
#include "model/types.hpp"
#include "validate/identifiers.hpp"
#include "validate/spelling.hpp"

using plinth::model::canonical_type;

TEST_CASE("types are written the way format_type() writes them") {
    CHECK(canonical_type("uuid") == "uuid");
    CHECK(canonical_type("int") == "integer");
    CHECK(canonical_type("INT8") == "bigint");
    CHECK(canonical_type("bool") == "boolean");
    CHECK(canonical_type("varchar(64)") == "character varying(64)");
    CHECK(canonical_type("varchar") == "character varying");
    CHECK(canonical_type("timestamptz") == "timestamp with time zone");
    CHECK(canonical_type("timestamp") == "timestamp without time zone");
    CHECK(canonical_type("timestamptz(3)") == "timestamp(3) with time zone");
    CHECK(canonical_type("timestamp(3)  with time zone") == "timestamp(3) with time zone");
    CHECK(canonical_type("numeric(10, 2)") == "numeric(10,2)");
    CHECK(canonical_type("text[]") == "text[]");
    CHECK(canonical_type("varchar(8)[3]") == "character varying(8)[]");
    CHECK(canonical_type("double precision") == "double precision");
    CHECK(canonical_type("float4[]") == "real[]");
    CHECK(canonical_type("vector(384)") == "vector(384)");
    CHECK(canonical_type("float") == "double precision");
    CHECK(canonical_type("char") == "character(1)");
    CHECK(canonical_type("char(3)") == "character(3)");
}

TEST_CASE("base types ignore modifiers; vector dimensions are read") {
    CHECK(plinth::model::base_type("character varying(64)") == "character varying");
    CHECK(plinth::model::vector_dimensions("vector(1536)") == 1536);
    CHECK_FALSE(plinth::model::vector_dimensions("text").has_value());
}

TEST_CASE("identifier rules") {
    using namespace plinth::validate;
    CHECK_FALSE(check_identifier("agents").has_value());
    CHECK_FALSE(check_identifier("_x1").has_value());
    CHECK(check_identifier("1x").has_value());
    CHECK(check_identifier("Agents").has_value());
    CHECK(check_identifier(std::string(64, 'a')) == "is 64 bytes long; PostgreSQL identifiers are at most 63 bytes");
    CHECK_FALSE(check_identifier(std::string(63, 'a')).has_value());
    CHECK_FALSE(check_plugin_name("project-management").has_value());
    CHECK(check_schema_name("plinth") == "is reserved for plinth's own journal");
    CHECK_FALSE(check_type("character varying(64)").has_value());
    CHECK_FALSE(check_type("timestamp(3) with time zone").has_value());
    CHECK(check_type("text; drop table x").has_value());
    CHECK_FALSE(check_expression("status IN ('a;b', 'c')").has_value());
    CHECK(check_expression("1; select 2") == "contains ';' outside a quoted string: declare one expression, not statements");
    CHECK(check_expression("x -- comment") == "contains an SQL comment");
    CHECK(check_expression("'open") == "has an unterminated quoted string");
    // An E-string's escaped quote does not end it, so what follows is still inside the string...
    CHECK_FALSE(check_expression("E'it\\'s; fine'").has_value());
    // ...and cannot be used to hide a second statement behind it.
    CHECK(check_expression("E'\\''; DROP TABLE x; --'").has_value());
    CHECK(check_type("serial").has_value());
    CHECK(check_type("BIGSERIAL").has_value());
}

TEST_CASE("join keeps empty items") {
    using plinth::model::join;
    CHECK(join({"", "a"}, ",") == ",a");
    CHECK(join({"a", "", "b"}, ", ") == "a, , b");
    CHECK(join({}, ",").empty());
    CHECK(join({""}, ",").empty());
}

TEST_CASE("edit distance counts a swap of two neighbours as one edit") {
    using plinth::validate::edit_distance;
    CHECK(edit_distance("agents", "agents") == 0);
    CHECK(edit_distance("agnets", "agents") == 1);
    CHECK(edit_distance("colour", "color") == 1);
    CHECK(edit_distance("kitten", "sitting") == 3);
    CHECK(edit_distance("", "abc") == 3);
    CHECK(edit_distance("abc", "") == 3);
    // Optimal string alignment: no character is edited twice, so "ca" -> "abc" takes 3, not 2.
    CHECK(edit_distance("ca", "abc") == 3);
}

TEST_CASE("did you mean: the one closest name, within 2 edits and under half the length") {
    using plinth::validate::did_you_mean;
    CHECK(did_you_mean("agnets", {"entities", "agents", "rooms"}) == "; did you mean \"agents\"?");
    CHECK(did_you_mean("owners", {"agents", "entities", "rooms"}).empty());
    CHECK(did_you_mean("projetcs", {"projects", "project_tasks"}) == "; did you mean \"projects\"?");
    // Two edits are the most...
    CHECK(did_you_mean("widgets", {"gadgets"}) == "; did you mean \"gadgets\"?");
    CHECK(did_you_mean("widgets", {"gidgits_x"}).empty());
    // ...and must be fewer than half the name: "ab" is no slip for "abc".
    CHECK(did_you_mean("ab", {"abc"}).empty());
    CHECK(did_you_mean("abcd", {"abc"}) == "; did you mean \"abc\"?");
    // The strictly closest wins; a tie suggests neither, whatever the order.
    CHECK(did_you_mean("tasks", {"tsk", "task"}) == "; did you mean \"task\"?");
    CHECK(did_you_mean("tasks", {"taskx", "tasky"}).empty());
    CHECK(did_you_mean("tasks", {"tasky", "taskx"}).empty());
    // The same name twice is no tie.
    CHECK(did_you_mean("agnets", {"agents", "agents"}) == "; did you mean \"agents\"?");
    CHECK(did_you_mean("agents", {"agents"}).empty());
}

TEST_CASE("the type-name grammar accepts exactly what its former regular expression accepted") {
    using plinth::validate::check_type;
    // The reference: the pattern check_type used before it was written out by hand for speed.
    const std::regex reference(R"([A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?( (precision|varying))?)"
                               R"( ?(\( *[0-9]+ *(, *[0-9]+ *)?\))?( (with|without) time zone)?( ?\[[0-9]*\])*)");
    const std::regex serial("(small|big)?serial[248]?", std::regex::icase);
    const std::vector<std::string> pieces{"a", "text", "_x1", "s.t", "double", " precision", " varying", "(", " (",
                                          "5", " 5 ", ",", ", 2", ")", " with time zone", " without time zone",
                                          "[", " [", "]", "[]", "[3]", ".", " ", "9", "timestamp", "Big", "serial",
                                          "8", "small", "with", "-"};
    const auto same_verdict = [&](const std::string& type) {
        const bool expected_ok = std::regex_match(type, reference) && !std::regex_match(type, serial);
        const auto verdict = check_type(type);
        const bool accepted = !verdict || verdict->find("out of range") != std::string::npos;
        if (accepted != expected_ok) FAIL_CHECK("\"" << type << "\": regex " << expected_ok << ", check_type " << accepted);
    };
    // Every sequence of up to three pieces, then sequences of four to seven drawn with a fixed seed.
    std::size_t tried = 0;
    for (const auto& a : pieces) {
        same_verdict(a);
        for (const auto& b : pieces) {
            same_verdict(a + b);
            for (const auto& c : pieces) same_verdict(a + b + c);
        }
        tried += 1 + pieces.size() + pieces.size() * pieces.size();
    }
    std::mt19937 random(20261127);
    for (int n = 0; n < 20000; ++n, ++tried) {
        std::string type;
        const auto length = 4 + random() % 4;
        for (std::size_t i = 0; i < length; ++i) type += pieces[random() % pieces.size()];
        same_verdict(type);
    }
    same_verdict("timestamp(3) with time zone[]");
    same_verdict("double precision [4][]");
    CHECK(tried > 50000);
}
