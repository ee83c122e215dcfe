#include "validate/identifiers.hpp"

#include <cctype>

namespace plinth::validate {
namespace {

std::optional<std::string> check_length(std::string_view name) {
    if (name.size() > kMaxIdentifierBytes)
        return "is " + std::to_string(name.size()) + " bytes long; PostgreSQL identifiers are at most 63 bytes";
    return std::nullopt;
}

// Hand-written matchers rather than std::regex: these run for every name and type of every table,
// and std::regex's backtracking made them most of the cost of loading and validating a large schema.
bool is_lower_or_underscore(char c) { return (c >= 'a' && c <= 'z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || is_digit(c); }

// What may follow a type's name and modifier: ( (with|without) time zone)?( ?\[[0-9]*\])*
bool is_type_tail(std::string_view rest) {
    for (std::string_view zone : {" without time zone", " with time zone"}) {
        if (rest.substr(0, zone.size()) == zone) {
            rest.remove_prefix(zone.size());
            break;
        }
    }
    while (!rest.empty()) {
        if (rest[0] == ' ') rest.remove_prefix(1);
        if (rest.empty() || rest[0] != '[') return false;
        std::size_t i = 1;
        while (i < rest.size() && is_digit(rest[i])) ++i;
        if (i == rest.size() || rest[i] != ']') return false;
        rest.remove_prefix(i + 1);
    }
    return true;
}

std::size_t name_length(std::string_view text) {  // [A-Za-z_][A-Za-z0-9_]*
    if (text.empty() || !is_name_start(text[0])) return 0;
    std::size_t i = 1;
    while (i < text.size() && is_name_char(text[i])) ++i;
    return i;
}

// The modifier "( *N *(, *N *)?)" at the front of `text`: its length, or 0 when there is none.
std::size_t modifier_length(std::string_view text) {
    std::size_t i = 0;
    const auto spaces = [&] { while (i < text.size() && text[i] == ' ') ++i; };
    const auto number = [&] {
        const std::size_t start = i;
        while (i < text.size() && is_digit(text[i])) ++i;
        return i > start;
    };
    if (text.empty() || text[0] != '(') return 0;
    ++i;
    spaces();
    if (!number()) return 0;
    spaces();
    if (i < text.size() && text[i] == ',') {
        ++i;
        spaces();
        if (!number()) return 0;
        spaces();
    }
    return i < text.size() && text[i] == ')' ? i + 1 : 0;
}

// name(\.name)?( (precision|varying))? ?(modifier)?( (with|without) time zone)?( ?\[N?\])*, the
// grammar check_type once gave std::regex, matched the same way: where the regex could give the
// optional space before the modifier to what follows instead, so does this.
bool matches_type_grammar(std::string_view type) {
    std::size_t length = name_length(type);
    if (length == 0) return false;
    type.remove_prefix(length);
    if (!type.empty() && type[0] == '.') {
        length = name_length(type.substr(1));
        if (length == 0) return false;
        type.remove_prefix(1 + length);
    }
    for (std::string_view word : {" precision", " varying"}) {
        if (type.substr(0, word.size()) == word) {
            type.remove_prefix(word.size());
            break;
        }
    }
    const std::string_view after_space = !type.empty() && type[0] == ' ' ? type.substr(1) : type;
    if (const auto modifier = modifier_length(after_space)) return is_type_tail(after_space.substr(modifier));
    return is_type_tail(type) || is_type_tail(after_space);
}

// Whether `text` starts with `lower_word`, in any case; no lower-cased copy of the text.
bool starts_with_folded(std::string_view text, std::string_view lower_word) {
    if (text.size() < lower_word.size()) return false;
    for (std::size_t i = 0; i < lower_word.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(text[i])) != lower_word[i]) return false;
    return true;
}

// (small|big)?serial[248]?, in any case.
bool is_serial(std::string_view rest) {
    if (starts_with_folded(rest, "small")) rest.remove_prefix(5);
    else if (starts_with_folded(rest, "big")) rest.remove_prefix(3);
    if (!starts_with_folded(rest, "serial")) return false;
    rest.remove_prefix(6);
    return rest.empty() || (rest.size() == 1 && (rest[0] == '2' || rest[0] == '4' || rest[0] == '8'));
}

}  // namespace

std::optional<std::string> check_identifier(std::string_view name) {
    if (name.empty()) return std::string("is empty");
    if (auto too_long = check_length(name)) return too_long;
    bool valid = is_lower_or_underscore(name[0]);
    for (char c : name) valid = valid && (is_lower_or_underscore(c) || is_digit(c));
    if (!valid)
        return std::string("is not a valid identifier: use lower-case letters, digits and _, not starting with a digit");
    return std::nullopt;
}

std::optional<std::string> check_plugin_name(std::string_view name) {
    if (name.empty()) return std::string("is empty");
    if (auto too_long = check_length(name)) return too_long;
    bool valid = name[0] >= 'a' && name[0] <= 'z';
    for (char c : name) valid = valid && (is_lower_or_underscore(c) || is_digit(c) || c == '-');
    if (!valid)
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
    // A type string of a few hundred thousand bytes (the loader allows 1 MiB) once overflowed the
    // stack in the std::regex this check used (found by the fuzzer). No real type is that long: the
    // longest, two 63-byte names, modifiers, a time zone and array bounds, fits in the limit.
    if (type.size() > kMaxTypeBytes)
        return "is " + std::to_string(type.size()) + " bytes long; a type name here is at most " +
               std::to_string(kMaxTypeBytes) + " bytes";
    // serial is a default from a sequence, not a type: it never matches the catalog's integer.
    if (is_serial(type))
        return std::string("is a serial pseudo-type, which plinth does not manage: use uuid with default_random(), "
                           "or an integer filled by the application");
    // A (schema-qualified) name, the two-word names, modifiers, time zone words, array brackets.
    if (!matches_type_grammar(type))
        return std::string("is not a type name PostgreSQL would accept (e.g. text, varchar(64), timestamptz, text[])");
    // Modifiers and array bounds are 32-bit integers in PostgreSQL; larger numbers must not reach
    // any parsing of ours either. The server judges the exact range of each type in the probe.
    for (std::size_t i = 0; i < type.size(); ++i) {
        if (!is_digit(type[i]) || (i > 0 && is_digit(type[i - 1]))) continue;
        std::size_t end = i;
        while (end < type.size() && is_digit(type[end])) ++end;
        if (i > 0 && (std::isalpha(static_cast<unsigned char>(type[i - 1])) || type[i - 1] == '_'))
            continue;  // part of a name, such as int4
        const std::string digits(type.substr(i, end - i));
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
