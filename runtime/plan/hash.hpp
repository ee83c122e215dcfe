// Internal to plan/: the one hash function the planner uses, for schema hashes and shortened names.
#pragma once

#include <string>
#include <string_view>

namespace plinth::plan {

// XXH3-64 of `text` as 16 lower-case hex digits.
std::string hash_hex(std::string_view text);

}  // namespace plinth::plan
