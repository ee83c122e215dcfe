#include "plan/compare.hpp"

#include <algorithm>
#include <cctype>
#include <regex>

namespace plinth::plan {
namespace {

// pg_get_indexdef quotes a column only when it must; compare bare names.
std::string unquote(const std::string& key) {
    if (key.size() >= 2 && key.front() == '"' && key.back() == '"') return key.substr(1, key.size() - 2);
    return key;
}

constexpr std::size_t kLongestNormalizedDefault = 4096;

}  // namespace

std::string normalize_default(const std::string& sql) {
    static const std::regex cast(R"(^('(?:[^']|'')*')::[a-z_][a-z0-9_ ."]*(\([0-9, ]+\))?[a-z ]*(\[\])*$)");
    static const std::regex number(R"(^'(-?[0-9]+(\.[0-9]+)?)'$)");
    std::string folded;
    bool quoted = false;
    for (char c : sql) {
        if (c == '\'') quoted = !quoted;
        folded += quoted ? c : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    // libstdc++'s std::regex recurses once per character of the literal: a default of a few hundred
    // kilobytes would overflow the stack. Such a default is compared as written.
    if (folded.size() > kLongestNormalizedDefault) return folded;
    std::smatch m;
    std::string out = folded;
    if (std::regex_match(folded, m, cast)) out = m[1];
    if (std::regex_match(out, m, number)) out = m[1];
    return out;
}

bool safe_type_change(const std::string& from, const std::string& to) {
    static const std::regex varchar(R"(^character varying(\((\d+)\))?$)");
    static const std::regex numeric(R"(^numeric\((\d+),(\d+)\)$)");
    std::smatch a, b;
    const bool from_varchar = std::regex_match(from, a, varchar);
    if (from_varchar && to == "text") return true;
    if (from == "text" && to == "character varying") return true;
    if (from_varchar && std::regex_match(to, b, varchar)) {
        if (!b[1].matched) return true;                       // to unlimited length
        if (!a[1].matched) return false;                      // from unlimited to limited
        return std::stoi(b[2].str()) >= std::stoi(a[2].str());  // longer
    }
    if (std::regex_match(from, a, numeric) && std::regex_match(to, b, numeric))
        return a[2] == b[2] && std::stoi(b[1].str()) >= std::stoi(a[1].str());
    return false;
}

char action_letter(model::FkAction action) {
    switch (action) {
        case model::FkAction::no_action: return 'a';
        case model::FkAction::restrict: return 'r';
        case model::FkAction::cascade: return 'c';
        case model::FkAction::set_null: return 'n';
        case model::FkAction::set_default: return 'd';
    }
    return 'a';
}

bool plain_index(const model::Index& index) {
    return !index.predicate && std::none_of(index.keys.begin(), index.keys.end(), model::is_expression_key);
}

bool same_index(const model::Index& want, const model::ActualIndex& have) {
    return same_index_keys(want, have) && same_index_build(want, have);
}

bool same_index_build(const model::Index& want, const model::ActualIndex& have) {
    if (want.method != have.method || want.options != have.options) return false;
    for (std::size_t i = 0; i < have.opclasses.size(); ++i) {
        const std::string& declared = want.opclass(i);
        const bool matches = declared.empty() ? i >= have.default_opclasses.size() || have.default_opclasses[i]
                                              : declared == have.opclasses[i];
        if (!matches) return false;
    }
    return true;
}

bool same_index_keys(const model::Index& want, const model::ActualIndex& have) {
    if (want.unique != have.unique || want.keys.size() != have.keys.size() ||
        want.predicate.has_value() != have.predicate.has_value())
        return false;
    for (std::size_t i = 0; i < want.keys.size(); ++i) {
        const bool expression = model::is_expression_key(want.keys[i]);
        if (expression != have.expression_keys[i]) return false;
        if (!expression && want.keys[i] != unquote(have.keys[i])) return false;
    }
    return true;
}

bool same_foreign_key(const model::ForeignKey& want, const model::ActualConstraint& have) {
    return have.kind == 'f' && have.columns == want.columns && have.ref_schema == want.ref_schema &&
           have.ref_table == want.ref_table && have.ref_columns == want.ref_columns &&
           have.on_delete == action_letter(want.on_delete) && have.on_update == action_letter(want.on_update);
}

bool same_unique(const model::UniqueConstraint& want, const model::ActualConstraint& have) {
    return have.kind == 'u' && have.columns == want.columns;
}

std::string check_definition(const model::ActualConstraint& check) {
    std::string definition = check.definition;
    if (const std::string suffix = " NOT VALID"; definition.ends_with(suffix))
        definition.erase(definition.size() - suffix.size());
    return definition;
}

}  // namespace plinth::plan
