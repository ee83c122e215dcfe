#include "model/types.hpp"

#include <array>
#include <cctype>
#include <utility>

namespace plinth::model {
namespace {

// Lower-cases and folds white space, dropping it next to punctuation: "numeric(10, 2)" -> "numeric(10,2)".
std::string fold(std::string_view text) {
    std::string out;
    bool pending_space = false;
    for (char c : text) {
        if (std::isspace(static_cast<unsigned char>(c))) {
            pending_space = true;
            continue;
        }
        const bool punctuation = std::string_view("()[],").find(c) != std::string_view::npos;
        if (pending_space && !punctuation && !out.empty() && std::string_view("([,").find(out.back()) == std::string_view::npos)
            out += ' ';
        pending_space = false;
        out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
}

// Alias -> canonical name, for names without modifiers.
constexpr std::array<std::pair<std::string_view, std::string_view>, 24> kAliases{{
    {"int", "integer"}, {"int4", "integer"}, {"integer", "integer"},
    {"int8", "bigint"}, {"bigint", "bigint"},
    {"int2", "smallint"}, {"smallint", "smallint"},
    {"bool", "boolean"}, {"boolean", "boolean"},
    {"float8", "double precision"}, {"float", "double precision"}, {"double precision", "double precision"},
    {"float4", "real"}, {"real", "real"},
    {"varchar", "character varying"}, {"character varying", "character varying"},
    {"char", "character"}, {"character", "character"},
    {"decimal", "numeric"}, {"bpchar", "character"},
    {"timestamptz", "timestamp with time zone"}, {"timestamp", "timestamp without time zone"},
    {"timetz", "time with time zone"}, {"time", "time without time zone"},
}};

}  // namespace

std::string canonical_type(std::string_view type) {
    std::string t = fold(type);
    std::string arrays;
    while (t.size() >= 2 && t.back() == ']') {
        auto open = t.rfind('[');
        if (open == std::string::npos) break;
        arrays += "[]";  // format_type never shows array bounds
        t.erase(open);
        while (!t.empty() && t.back() == ' ') t.pop_back();
    }
    // The "with/without time zone" suffix sits after the modifier: timestamp(3) with time zone.
    std::string zone;
    for (std::string_view suffix : {std::string_view(" with time zone"), std::string_view(" without time zone")}) {
        if (t.size() > suffix.size() && t.compare(t.size() - suffix.size(), suffix.size(), suffix) == 0) {
            zone = std::string(suffix);
            t.erase(t.size() - suffix.size());
        }
    }
    std::string modifier;
    if (auto open = t.find('('); open != std::string::npos) {
        modifier = t.substr(open);
        t.erase(open);
        while (!t.empty() && t.back() == ' ') t.pop_back();
    }
    for (const auto& [alias, name] : kAliases) {
        if (t == alias) {
            t = name;
            break;
        }
    }
    // A bare char or bit is one long; format_type says so.
    if ((t == "character" || t == "bit") && modifier.empty()) modifier = "(1)";
    if (!zone.empty()) {
        if (t == "timestamp without time zone" || t == "timestamp") t = "timestamp";
        else if (t == "time without time zone" || t == "time") t = "time";
        return t + modifier + zone + arrays;
    }
    for (std::string_view timed : {std::string_view("timestamp"), std::string_view("time")}) {
        for (std::string_view suffix : {std::string_view(" with time zone"), std::string_view(" without time zone")}) {
            if (t == std::string(timed) + std::string(suffix)) return std::string(timed) + modifier + std::string(suffix) + arrays;
        }
    }
    return t + modifier + arrays;
}

std::string base_type(std::string_view canonical) {
    std::string out;
    bool in_modifier = false;
    for (char c : canonical) {
        if (c == '(') in_modifier = true;
        else if (c == ')') in_modifier = false;
        else if (!in_modifier) out += c;
    }
    return out;
}

std::optional<VectorType> vector_type(std::string_view canonical) {
    const auto open = canonical.find('(');
    if (open == std::string_view::npos || open + 2 > canonical.size() || canonical.back() != ')') return std::nullopt;
    const std::string_view base = canonical.substr(0, open);
    if (base != "vector" && base != "halfvec" && base != "sparsevec" && base != "bit") return std::nullopt;
    int n = 0;
    for (char c : canonical.substr(open + 1, canonical.size() - open - 2)) {
        if (c < '0' || c > '9') return std::nullopt;
        n = n * 10 + (c - '0');
        if (n > 1000000) return std::nullopt;
    }
    return VectorType{std::string(base), n};
}

std::optional<int> vector_dimensions(std::string_view canonical) {
    auto type = vector_type(canonical);
    if (!type || type->base != "vector") return std::nullopt;
    return type->dimensions;
}

bool needs_pgvector(std::string_view canonical) {
    const auto open = canonical.find('(');
    const std::string_view base = canonical.substr(0, open);
    return base == "vector" || base == "halfvec" || base == "sparsevec";
}

}  // namespace plinth::model
