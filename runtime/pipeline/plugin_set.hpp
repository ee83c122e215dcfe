// The first three stages as one value: load a plugins folder, validate what it declares, order it.
// Every command starts from a PluginSet; apply, host and cli take it from here.
#pragma once

#include <filesystem>

#include "load/loader.hpp"
#include "order/order.hpp"
#include "validate/validator.hpp"

namespace plinth::pipeline {

struct PluginSet {
    std::filesystem::path folder;
    load::LoadResult loaded;              // refusals only; plugins moved into validation
    validate::ValidationResult validation;
    order::Ordering ordering;             // over validation.plugins

    // No refused file, no problem, no skipped plugin.
    bool all_valid() const {
        return loaded.refusals.empty() && validation.problems.empty() && validation.skipped.empty();
    }
};

// The plugins folder beside the executable's folder (the build tree's
// layout: build/runtime/plinth and build/plugins/*.so), else lib/plinth/plugins of an install.
std::filesystem::path default_plugins_dir();

// Loads, validates and orders the plugins in `folder`. Throws std::runtime_error when the folder
// itself cannot be read.
PluginSet load_plugin_set(const std::filesystem::path& folder);

// Logs every refusal, problem and skip as warnings (errors with --strict).
void log_plugin_issues(const PluginSet& set, bool strict);

}  // namespace plinth::pipeline
