// The first three stages as one value: load the plugins folders, validate what they declare
// together, order it.
// Every command starts from a PluginSet; apply, host and cli take it from here.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "load/loader.hpp"
#include "order/order.hpp"
#include "pipeline/load_probe.hpp"
#include "validate/validator.hpp"

namespace plinth::pipeline {

struct PluginSet {
    std::vector<std::filesystem::path> folders;
    load::LoadResult loaded;              // refusals and warnings; plugins moved into validation
    validate::ValidationResult validation;
    order::Ordering ordering;             // over validation.plugins
    bool stopped = false;                 // the load probe's should_stop ended loading early
    // The plugins key of what was loaded (see plugins_key), when no file was refused and none
    // warned about; nullopt otherwise.
    std::optional<std::string> plugins_key;

    // No refused file, no problem, no skipped plugin.
    bool all_valid() const {
        return loaded.refusals.empty() && validation.problems.empty() && validation.skipped.empty();
    }
};

// Refuses the valid plugins that `problems` are about (found after validation, by the server's
// judgement of their SQL): each is moved to validation.skipped with its problem count, as a plugin
// failing validation would be, and so is every plugin that requires one of them, directly or not.
// The problems join validation.problems, and the rest is ordered again. Returns the skips added,
// in the order validation would give them.
std::vector<validate::Skip> refuse(PluginSet& set, std::vector<validate::Problem> problems);

// The plugins folder beside the executable's folder (the build tree's layout: build/runtime/plinth
// and build/plugins/*.so), else the folder the shipped plugins were installed in:
// <libdir>/plinth/plugins of the install, found from the executable's own folder.
std::filesystem::path default_plugins_dir();

// "a/plugins:b/plugins" -> the folders, empty parts left out.
std::vector<std::filesystem::path> split_path_list(const std::string& list);

// Loads the plugins of every folder (in the order given, each in file-name order), then validates
// and orders them as one set: a plugin may require one from another folder, and one plugin name in
// two folders is a problem naming both files. Throws std::runtime_error when a folder cannot be read.
// Every file is tried in a child process first (pipeline/load_probe.hpp, unless probe.enabled is
// false); a file that ended or hung it is refused unloaded. When probe.should_stop stopped the
// probe, the files not yet tried are refused and `stopped` is set.
PluginSet load_plugin_set(const std::vector<std::filesystem::path>& folders, const ProbeOptions& probe = {});
// The same with the probe already run over plugin_files(folders): `probed` is what it found.
PluginSet load_plugin_set(const std::vector<std::filesystem::path>& folders, const ProbeResult& probed);

// What a no-op start compares with the journal's record instead of loading the plugins itself
// (docs/ARCHITECTURE.md, "The plugins key"): one hash over each file, in order, with its identity on
// disk (path, device, inode, size, modification time) and the load::descriptor_digest of the plugin
// it holds. nullopt when some file has no digest or cannot be stat'ed.
std::optional<std::string> plugins_key(const std::vector<std::filesystem::path>& files,
                                       const std::vector<std::optional<std::uint64_t>>& digests);

// The folders as a person reads them: "a, b".
std::string describe_folders(const PluginSet& set);

// Logs every refusal, problem and skip as warnings (errors with --strict), and every load warning
// as a warning: it keeps no plugin out, so --strict does not make it an error.
void log_plugin_issues(const PluginSet& set, bool strict);

}  // namespace plinth::pipeline
