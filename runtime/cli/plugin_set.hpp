// The first three stages run together by every command: load, validate, order.
#pragma once

#include <filesystem>
#include <string>

#include <CLI/CLI.hpp>

#include "load/loader.hpp"
#include "order/order.hpp"
#include "validate/validator.hpp"

namespace plinth::cli {

struct PluginOptions {
    std::string plugins_dir;  // empty: default_plugins_dir()
    bool strict = false;
};

// Adds --plugins DIR and --strict to a command.
void add_plugin_options(CLI::App& command, PluginOptions& options);

// The plugins folder beside the executable's folder (the build tree's
// layout: build/runtime/plinth and build/plugins/*.so), else lib/plinth/plugins of an install.
std::filesystem::path default_plugins_dir();

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

PluginSet load_plugin_set(const PluginOptions& options);

// Logs every refusal, problem and skip as warnings (errors with --strict).
void log_plugin_issues(const PluginSet& set, bool strict);

}  // namespace plinth::cli
