#include "host/config.hpp"

#include <algorithm>
#include <cctype>
#include <sstream>

#include <spdlog/spdlog.h>
#include <toml++/toml.h>
#include <unistd.h>

namespace plinth::hosting {
namespace {

std::string upper_name(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        c = c == '-' || c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return out;
}

std::string env_prefix(std::string_view plugin) { return "PLINTH_" + upper_name(plugin) + "_"; }

std::string where(const std::filesystem::path& file, const toml::source_region& source) {
    return file.string() + ":" + std::to_string(source.begin.line);
}

toml::table parse(const std::filesystem::path& file) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec))
        throw ConfigError("configuration file " + file.string() + " does not exist or is not a file");
    try {
        return toml::parse_file(file.string());
    } catch (const toml::parse_error& e) {
        throw ConfigError(where(file, e.source()) + ": " + std::string(e.description()));
    }
}

// A scalar as text: strings as they are; numbers, booleans, dates and times as their TOML text.
std::string scalar_text(const toml::node& node) {
    if (const auto* text = node.as_string()) return text->get();
    std::ostringstream os;
    node.visit([&os](auto&& value) {
        if constexpr (toml::is_value<decltype(value)>) os << value;
    });
    return os.str();
}

// Flattens a plugin's table into dotted keys.
void collect(const std::filesystem::path& file, const std::string& plugin, const toml::table& table,
             const std::string& prefix, std::map<std::string, std::string>& out) {
    for (auto&& [key, node] : table) {
        const std::string name = prefix + std::string(key.str());
        if (const auto* nested = node.as_table()) {
            collect(file, plugin, *nested, name + ".", out);
        } else if (node.is_array()) {
            throw ConfigError(where(file, node.source()) + ": [" + plugin + "] key \"" + name +
                              "\": arrays are not supported; give each value its own key");
        } else {
            out[name] = scalar_text(node);
        }
    }
}

}  // namespace

std::string config_env_name(std::string_view plugin, std::string_view key) {
    return env_prefix(plugin) + upper_name(key);
}

PluginConfig::PluginConfig(std::string plugin, std::map<std::string, std::string> file_values,
                           std::map<std::string, std::string> environment)
    : plugin_(std::move(plugin)),
      file_values_(file_values.begin(), file_values.end()),
      environment_(environment.begin(), environment.end()) {}

const std::string* PluginConfig::get(std::string_view key) const {
    if (auto it = environment_.find(config_env_name(plugin_, key)); it != environment_.end()) return &it->second;
    if (auto it = file_values_.find(key); it != file_values_.end()) return &it->second;
    return nullptr;
}

Config Config::load(const std::filesystem::path& file, const std::vector<std::string>& plugins,
                    spdlog::logger& log) {
    const toml::table root = parse(file);
    Config config;
    for (auto&& [key, node] : root) {
        const std::string name(key.str());
        if (name == "plinth") continue;  // plinth's own settings
        const auto* table = node.as_table();
        if (!table) {
            log.warn("{}: key \"{}\" is outside any plugin's table and is ignored", where(file, node.source()), name);
            continue;
        }
        if (std::find(plugins.begin(), plugins.end(), name) == plugins.end())
            log.warn("{}: table [{}] names no plugin of this run and is ignored", where(file, node.source()), name);
        collect(file, name, *table, "", config.tables_[name]);
    }
    return config;
}

std::map<std::string, Setting> load_plinth_settings(const std::filesystem::path& file) {
    const toml::table root = parse(file);
    std::map<std::string, Setting> out;
    const auto* node = root.get("plinth");
    if (!node) return out;
    const auto* table = node->as_table();
    if (!table) throw ConfigError(where(file, node->source()) + ": plinth must be a table: [plinth]");
    for (auto&& [key, value] : *table) {
        Setting setting{{}, where(file, value.source())};
        const std::string name(key.str());
        const auto refuse = [&] {
            throw ConfigError(setting.where + ": [plinth] " + name + ": give a string, number or boolean" +
                              (name == "plugins" ? " (or an array of strings)" : ""));
        };
        if (const auto* array = value.as_array()) {
            for (auto&& element : *array) {
                if (element.is_table() || element.is_array()) refuse();
                setting.values.push_back(scalar_text(element));
            }
        } else if (value.is_table()) {
            refuse();
        } else {
            setting.values.push_back(scalar_text(value));
        }
        out.emplace(name, std::move(setting));
    }
    return out;
}

PluginConfig Config::for_plugin(const std::string& plugin) const {
    const std::string prefix = env_prefix(plugin);
    std::map<std::string, std::string> environment;
    for (char** entry = environ; entry && *entry; ++entry) {
        const std::string_view text(*entry);
        const auto eq = text.find('=');
        if (eq == std::string_view::npos || !text.substr(0, eq).starts_with(prefix)) continue;
        environment.emplace(std::string(text.substr(0, eq)), std::string(text.substr(eq + 1)));
    }
    const auto it = tables_.find(plugin);
    return PluginConfig(plugin, it == tables_.end() ? std::map<std::string, std::string>{} : it->second,
                        std::move(environment));
}

}  // namespace plinth::hosting
