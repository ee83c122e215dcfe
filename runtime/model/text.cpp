#include "model/text.hpp"

#include <cstdio>

namespace plinth::model {

std::string join(const std::vector<std::string>& items, std::string_view separator) {
    std::string out;
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i > 0) out += separator;
        out += items[i];
    }
    return out;
}

std::string trim(std::string_view text) {
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) return {};
    return std::string(text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1));
}

std::string format_duration(std::chrono::milliseconds duration) {
    if (duration.count() % 1000 == 0) return std::to_string(duration.count() / 1000) + " s";
    return std::to_string(duration.count()) + " ms";
}

namespace {

std::string quoted(std::string_view text, char quote) {
    std::string out(1, quote);
    for (char c : text) {
        if (c == quote) out += quote;
        out += c;
    }
    return out + quote;
}

}  // namespace

std::string quote_ident(std::string_view name) { return quoted(name, '"'); }

std::string qualified(std::string_view schema, std::string_view name) {
    return quote_ident(schema) + "." + quote_ident(name);
}

std::string qualified(std::string_view dotted) {
    const auto dot = dotted.find('.');
    return qualified(dotted.substr(0, dot), dotted.substr(dot + 1));
}

std::string quote_literal(std::string_view text) { return quoted(text, '\''); }

namespace {

// The length of the valid UTF-8 sequence at the start of `s` (1 to 4), or 0 when it is not one:
// overlong forms, surrogates and code points past U+10FFFF are not valid.
std::size_t utf8_sequence(std::string_view s) {
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    const unsigned char lead = byte(0);
    std::size_t length;
    unsigned char low = 0x80, high = 0xbf;  // bounds of the second byte
    if (lead < 0x80) return 1;
    if (lead >= 0xc2 && lead <= 0xdf) length = 2;
    else if (lead >= 0xe0 && lead <= 0xef) {
        length = 3;
        if (lead == 0xe0) low = 0xa0;
        if (lead == 0xed) high = 0x9f;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
        length = 4;
        if (lead == 0xf0) low = 0x90;
        if (lead == 0xf4) high = 0x8f;
    } else {
        return 0;
    }
    if (s.size() < length || byte(1) < low || byte(1) > high) return 0;
    for (std::size_t i = 2; i < length; ++i)
        if (byte(i) < 0x80 || byte(i) > 0xbf) return 0;
    return length;
}

void append_hex(std::string& out, const char* prefix, unsigned value, int digits) {
    char buffer[16];
    std::snprintf(buffer, sizeof buffer, "%s%0*x", prefix, digits, value);
    out += buffer;
}

}  // namespace

std::string escape_text(std::string_view text, std::size_t limit) {
    std::string out;
    std::size_t at = 0;
    while (at < text.size() && at < limit) {
        const unsigned char c = static_cast<unsigned char>(text[at]);
        const std::size_t length = utf8_sequence(text.substr(at));
        if (length != 0 && at + length > limit) break;  // a whole character or none
        if (length == 0) {
            append_hex(out, "\\x", c, 2);
            ++at;
        } else if (length == 1) {
            switch (c) {
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (c < 0x20 || c == 0x7f) append_hex(out, "\\x", c, 2);
                else out += static_cast<char>(c);
            }
        } else if (length == 2 && c == 0xc2 && static_cast<unsigned char>(text[at + 1]) < 0xa0) {
            // U+0080..U+009F: C1 controls, which some terminals obey (U+009B starts a sequence).
            append_hex(out, "\\u", static_cast<unsigned char>(text[at + 1]), 4);
        } else {
            out.append(text.substr(at, length));
        }
        if (length != 0) at += length;
    }
    if (at < text.size()) out += " ... (" + std::to_string(text.size() - at) + " bytes cut)";
    return out;
}

}  // namespace plinth::model
