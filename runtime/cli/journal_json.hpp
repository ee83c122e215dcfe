// The JSON of work done after a migration's commit, one shape for `migrate --format json` and
// `history --format json`.
#pragma once

#include <nlohmann/json.hpp>

#include "apply/journal.hpp"

namespace plinth::cli {

inline nlohmann::json after_commit_json(const apply::AfterCommitRecord& w) {
    return {{"plugin", w.plugin},
            {"table", w.table},
            {"summary", w.summary},
            {"sql", w.sql},
            {"ms", w.ms},
            {"outcome", w.error.empty() ? "done" : "failed"},
            {"error", w.error.empty() ? nlohmann::json() : nlohmann::json(w.error)}};
}

}  // namespace plinth::cli
