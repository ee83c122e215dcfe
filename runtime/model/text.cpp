#include "model/text.hpp"

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

}  // namespace plinth::model
