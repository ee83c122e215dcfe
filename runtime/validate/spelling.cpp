#include "validate/spelling.hpp"

#include <algorithm>

namespace plinth::validate {

std::size_t edit_distance(std::string_view a, std::string_view b) {
    // Three rows of the usual table: the swap looks two rows back.
    std::vector<std::size_t> before(b.size() + 1), previous(b.size() + 1), current(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) previous[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        current[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
            current[j] = std::min({previous[j] + 1, current[j - 1] + 1, substitution});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                current[j] = std::min(current[j], before[j - 2] + 1);
        }
        std::swap(before, previous);
        std::swap(previous, current);
    }
    return previous[b.size()];
}

std::string did_you_mean(const std::string& unknown, const std::vector<std::string>& known) {
    constexpr std::size_t kMaxEdits = 2;
    const std::string* best = nullptr;
    std::size_t best_distance = kMaxEdits + 1;
    bool tie = false;
    for (const auto& name : known) {
        const std::size_t distance = edit_distance(unknown, name);
        if (distance == 0 || distance > kMaxEdits || 2 * distance >= unknown.size()) continue;
        if (distance < best_distance) {
            best = &name;
            best_distance = distance;
            tie = false;
        } else if (distance == best_distance && name != *best) {
            tie = true;
        }
    }
    if (!best || tie) return "";
    return "; did you mean \"" + *best + "\"?";
}

}  // namespace plinth::validate
