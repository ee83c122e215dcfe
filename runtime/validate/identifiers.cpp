#include "validate/identifiers.hpp"

#include <cctype>
#include <regex>

namespace plinth::validate {
namespace {

std::optional<std::string> check_length(std::string_view name) {
    if (name.size() > kMaxIdentifierBytes)
        return "is " + std::to_string(name.size()) + " bytes long; PostgreSQL identifiers are at most 63 bytes";
    return std::nullopt;
}

}  // namespace

std::optional<std::string> check_identifier(std::string_view name) {
    if (name.empty()) return std::string("is empty");
    if (auto too_long = check_length(name)) return too_long;
    static const std::regex pattern("[a-z_][a-z0-9_]*");
    if (!std::regex_match(name.begin(), name.end(), pattern))
        return std::string("is not a valid identifier: use lower-case letters, digits and _, not starting with a digit");
    return std::nullopt;
}

std::optional<std::string> check_plugin_name(std::string_view name) {
    if (name.empty()) return std::string("is empty");
    if (auto too_long = check_length(name)) return too_long;
    static const std::regex pattern("[a-z][a-z0-9_-]*");
    if (!std::regex_match(name.begin(), name.end(), pattern))
        return std::string("is not a valid plugin name: use lower-case letters, digits, _ and -, starting with a letter");
    return std::nullopt;
}

std::optional<std::string> check_schema_name(std::string_view name) {
    if (auto bad = check_identifier(name)) return bad;
    if (name.substr(0, 3) == "pg_" || name == "information_schema")
        return std::string("is reserved by PostgreSQL");
    if (name == "plinth") return std::string("is reserved for plinth's own journal");
    return std::nullopt;
}

std::optional<std::string> check_type(std::string_view type) {
    if (type.empty()) return std::string("is empty");
    // libstdc++'s std::regex recurses once per character matched: a type string of a few hundred
    // thousand bytes (the loader allows 1 MiB) overflowed the stack below (found by the fuzzer).
    // The longest real type, two 63-byte names, modifiers, a time zone and array bounds, fits.
    if (type.size() > kMaxTypeBytes)
        return "is " + std::to_string(type.size()) + " bytes long; a type name here is at most " +
               std::to_string(kMaxTypeBytes) + " bytes";
    // serial is a default from a sequence, not a type: it never matches the catalog's integer.
    static const std::regex serial("(small|big)?serial[248]?", std::regex::icase);
    if (std::regex_match(type.begin(), type.end(), serial))
        return std::string("is a serial pseudo-type, which plinth does not manage: use uuid with default_random(), "
                           "or an integer filled by the application");
    // A (schema-qualified) name, the two-word names, modifiers, time zone words, array brackets.
    static const std::regex pattern(
        R"([A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?( (precision|varying))?)"
        R"( ?(\( *[0-9]+ *(, *[0-9]+ *)?\))?( (with|without) time zone)?( ?\[[0-9]*\])*)");
    if (!std::regex_match(type.begin(), type.end(), pattern))
        return std::string("is not a type name PostgreSQL would accept (e.g. text, varchar(64), timestamptz, text[])");
    // Modifiers and array bounds are 32-bit integers in PostgreSQL; larger numbers must not reach
    // any parsing of ours either. The server judges the exact range of each type in the probe.
    static const std::regex number("[0-9]+");
    for (auto it = std::regex_iterator<std::string_view::const_iterator>(type.begin(), type.end(), number);
         it != std::regex_iterator<std::string_view::const_iterator>(); ++it) {
        const auto digits = it->str();
        if (it->position() > 0 && (std::isalpha(static_cast<unsigned char>(type[it->position() - 1])) || type[it->position() - 1] == '_'))
            continue;  // part of a name, such as int4
        if (digits.size() > 10 || std::stoll(digits) > 2147483647)
            return "has the number " + digits + ", out of range (at most 2147483647, and each type has its own limit)";
    }
    return std::nullopt;
}

bool is_system_column(std::string_view name) {
    for (const char* system : {"xmin", "xmax", "cmin", "cmax", "ctid", "tableoid", "oid"})
        if (name == system) return true;
    return false;
}

std::optional<std::string> check_version(std::string_view version) {
    if (version.empty()) return std::string("is empty");
    for (std::size_t i = 0; i < version.size();) {
        const auto c = static_cast<unsigned char>(version[i]);
        const std::size_t length = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
        if (length == 0 || i + length > version.size()) return std::string("is not valid UTF-8");
        for (std::size_t k = 1; k < length; ++k)
            if ((static_cast<unsigned char>(version[i + k]) >> 6) != 0x2) return std::string("is not valid UTF-8");
        if (c < 0x20 || c == 0x7f) return std::string("contains a control character");
        i += length;
    }
    return std::nullopt;
}

std::optional<std::string> check_expression(std::string_view sql) {
    bool blank = true;
    int depth = 0;
    char quote = 0;
    bool escapes = false;  // inside E'...', where a backslash escapes the next character
    for (std::size_t i = 0; i < sql.size(); ++i) {
        const char c = sql[i];
        if (quote) {
            if (escapes && c == '\\') ++i;
            else if (c == quote) quote = 0;
            continue;
        }
        if (c == '\'' || c == '"') {
            quote = c;
            escapes = c == '\'' && i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e') &&
                      (i == 1 || !(std::isalnum(static_cast<unsigned char>(sql[i - 2])) || sql[i - 2] == '_' ||
                                   static_cast<unsigned char>(sql[i - 2]) >= 0x80));  // PostgreSQL's identifiers take any non-ASCII byte
        } else if (c == ';') {
            return std::string("contains ';' outside a quoted string: declare one expression, not statements");
        } else if ((c == '-' || c == '/') && i + 1 < sql.size() && sql[i + 1] == (c == '-' ? '-' : '*')) {
            return std::string("contains an SQL comment");
        } else if (c == '$') {
            return std::string("contains '$': dollar quoting and parameters are not allowed in declared SQL");
        } else if (c == '(') {
            ++depth;
        } else if (c == ')' && --depth < 0) {
            return std::string("closes a parenthesis it did not open: declare one expression");
        }
        if (!std::isspace(static_cast<unsigned char>(c))) blank = false;
    }
    if (quote) return std::string("has an unterminated quoted string");
    if (depth > 0) return std::string("leaves a parenthesis open: declare one expression");
    if (blank) return std::string("is empty");
    return std::nullopt;
}

}  // namespace plinth::validate
