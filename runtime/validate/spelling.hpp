// "did you mean ...?" for a name that does not exist but is one slip away from one that does.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace plinth::validate {

// The Damerau-Levenshtein distance in its optimal-string-alignment form: the fewest insertions,
// deletions, substitutions and swaps of two adjacent characters that turn `a` into `b`, each
// character edited at most once.
std::size_t edit_distance(std::string_view a, std::string_view b);

// `; did you mean "x"?` when x is the known name closest to `unknown` and close enough to be a slip:
// at most 2 edits, and fewer than half of `unknown`'s length. When two different names are equally
// close, it suggests neither: a guess between them would mislead as often as help. "" otherwise.
std::string did_you_mean(const std::string& unknown, const std::vector<std::string>& known);

}  // namespace plinth::validate
