#include "host/lifecycle.hpp"

#include <algorithm>
#include <future>
#include <map>
#include <optional>
#include <thread>

#include <spdlog/spdlog.h>

#include "host/logging.hpp"
#include "introspect/catalog.hpp"
#include "model/text.hpp"

namespace plinth::hosting {
namespace {


// What a plugin function that let a C++ exception escape is reported as: the ABI is C, so the
// exception is caught at the call and becomes an ordinary failure of that step.
constexpr const char* kThrewAcrossAbi = "threw a C++ exception across the plugin ABI";

// The error a plugin set is its text, logged inside plinth's own line: escaped (escape_text) in
// every format, so that it stays inside that line.
std::string error_or_placeholder(const std::string& error) {
    return error.empty() ? "(the plugin gave no error message)" : escape_text(error);
}

}  // namespace

const char* step_name(Step step) {
    switch (step) {
        case Step::init: return "init";
        case Step::start: return "start";
        case Step::stop: return "stop";
    }
    return "?";
}

Lifecycle::Lifecycle(const std::vector<model::Plugin>& plugins, std::vector<std::size_t> order,
                     std::vector<std::shared_ptr<PluginContext>> contexts, LifecycleOptions options,
                     std::shared_ptr<spdlog::logger> log)
    : order_(std::move(order)), options_(options), log_(std::move(log)) {
    if (contexts.size() != plugins.size()) throw std::invalid_argument("one host context per plugin is needed");
    std::map<std::string, std::size_t> by_name;
    std::map<std::string, std::size_t> table_owner;
    for (std::size_t i = 0; i < plugins.size(); ++i) {
        auto& entry = entries_.emplace_back();
        entry.plugin = &plugins[i];
        entry.context = std::move(contexts[i]);
        by_name[plugins[i].name] = i;
        for (const auto& table : plugins[i].tables) table_owner[table.qualified_name()] = i;
    }
    const auto depends = [this](std::size_t on, std::size_t dependent) {
        auto& list = entries_[on].dependents;
        if (on != dependent && std::find(list.begin(), list.end(), dependent) == list.end())
            list.push_back(dependent);
    };
    for (std::size_t i = 0; i < plugins.size(); ++i) {
        for (const auto& name : plugins[i].requires_plugins)
            if (auto it = by_name.find(name); it != by_name.end()) depends(it->second, i);
        for (const auto& table : plugins[i].tables)
            for (const auto& fk : table.foreign_keys)
                if (auto it = table_owner.find(fk.ref_schema + "." + fk.ref_table); it != table_owner.end())
                    depends(it->second, i);
    }
}

Lifecycle::~Lifecycle() {
    try {
        stop();
    } catch (...) {  // a destructor must not throw; stop() logs what it can
    }
}

std::size_t Lifecycle::disable_missing_tables(pg::Connection& conn) {
    std::vector<std::pair<std::string, std::string>> wanted;
    std::map<std::string, std::size_t> owner;  // "schema.table" -> entry
    for (std::size_t i : order_) {
        if (entries_[i].state != State::pending) continue;
        for (const auto& table : entries_[i].plugin->tables) {
            wanted.emplace_back(table.schema, table.name);
            owner[table.qualified_name()] = i;
        }
    }
    if (wanted.empty()) return 0;
    std::map<std::size_t, std::vector<std::string>> by_plugin;
    for (const auto& name : introspect::missing_tables(conn, wanted)) by_plugin[owner.at(name)].push_back(name);
    std::size_t disabled = 0;
    for (std::size_t i : order_) {
        const auto it = by_plugin.find(i);
        if (it == by_plugin.end() || entries_[i].state != State::pending) continue;
        const std::string list = model::join(it->second, ", ");
        const std::string reason = (it->second.size() == 1 ? "its table " + list + " is" : "its tables " + list + " are") +
                                   " missing from the database";
        log_->error("plugin \"{}\" is not started: {}", entries_[i].plugin->name, reason);
        disable(i, reason);
        ++disabled;
    }
    return disabled;
}

void Lifecycle::exclude(std::size_t index, const std::string& reason) {
    if (index >= entries_.size() || entries_[index].state != State::pending) return;
    disable(index, reason);
}

void Lifecycle::observe(const Entry& entry, Step step, bool entering) const {
    if (options_.observer.call)
        options_.observer.call(static_cast<std::size_t>(&entry - entries_.data()), step, entering);
}

StartOutcome Lifecycle::start(const std::function<bool()>& stop_requested) {
    for (std::size_t i : order_) {
        auto& e = entries_[i];
        if (e.state != State::pending) continue;
        if (stop_requested()) return StartOutcome::interrupted;
        e.context->clear_error();
        const auto init = e.plugin->lifecycle.init;
        std::optional<std::string> failure;
        observe(e, Step::init, true);
        try {
            if (init && init(e.context->raw(), &e.plugin_state) != PLINTH_OK) failure = e.context->error();
        } catch (...) {
            failure = kThrewAcrossAbi;
        }
        observe(e, Step::init, false);
        if (failure) {
            e.plugin_state = nullptr;
            fail(i, "init", *failure);
            if (options_.strict) return StartOutcome::failed;
            continue;
        }
        e.state = State::initialised;
        log_->debug("initialised plugin \"{}\"", e.plugin->name);
    }
    for (std::size_t i : order_) {
        auto& e = entries_[i];
        if (e.state != State::initialised) continue;
        if (stop_requested()) return StartOutcome::interrupted;
        e.context->clear_error();
        const auto start = e.plugin->lifecycle.start;
        std::optional<std::string> failure;
        observe(e, Step::start, true);
        try {
            if (start && start(e.context->raw(), e.plugin_state) != PLINTH_OK) failure = e.context->error();
        } catch (...) {
            failure = kThrewAcrossAbi;
        }
        observe(e, Step::start, false);
        if (failure) {
            fail(i, "start", *failure);
            if (options_.strict) return StartOutcome::failed;
            continue;
        }
        e.state = State::started;
        log_->info("started plugin \"{}\" {}", e.plugin->name, e.plugin->version);
    }
    return StartOutcome::ready;
}

std::vector<std::string> Lifecycle::stop() {
    std::vector<std::string> abandoned;
    for (auto it = order_.rbegin(); it != order_.rend(); ++it) {
        auto& e = entries_[*it];
        stop_one(e);
        if (e.state == State::abandoned) abandoned.push_back(e.plugin->name);
    }
    return abandoned;
}

std::vector<std::string> Lifecycle::running() const {
    std::vector<std::string> names;
    for (std::size_t i : order_)
        if (entries_[i].state == State::started) names.push_back(entries_[i].plugin->name);
    return names;
}

std::vector<std::string> Lifecycle::disabled() const {
    std::vector<std::string> out;
    for (std::size_t i : order_) {
        const auto& e = entries_[i];
        // A dependent abandoned in the stop that disabled it is still disabled, and says why.
        if (e.state == State::disabled || (e.state == State::abandoned && !e.reason.empty()))
            out.push_back(e.plugin->name + ": " + e.reason);
    }
    return out;
}

void Lifecycle::fail(std::size_t index, const std::string& step, const std::string& error) {
    const std::string message = error_or_placeholder(error);
    log_->error("plugin \"{}\" failed in {}: {}", entries_[index].plugin->name, step, message);
    disable(index, step + " failed: " + message);
}

void Lifecycle::disable(std::size_t index, const std::string& reason) {
    // Told first: stopping a dependent below may never return.
    if (options_.observer.disabled) options_.observer.disabled(index, reason);
    // Dependents first, latest first: they are stopped (if initialised) before what they use.
    std::vector<bool> reached(entries_.size(), false);
    std::vector<std::size_t> pending{index};
    while (!pending.empty()) {
        const std::size_t at = pending.back();
        pending.pop_back();
        for (std::size_t d : entries_[at].dependents)
            if (!reached[d] && d != index) {
                reached[d] = true;
                pending.push_back(d);
            }
    }
    const std::string& root = entries_[index].plugin->name;
    for (auto it = order_.rbegin(); it != order_.rend(); ++it) {
        auto& d = entries_[*it];
        if (!reached[*it] || d.state == State::disabled || d.state == State::stopped || d.state == State::abandoned)
            continue;
        log_->warn("plugin \"{}\" is not started: it depends on \"{}\", which is disabled", d.plugin->name, root);
        stop_one(d);
        // A dependent hung in its stop stays abandoned: its thread may still run plugin code, so
        // plinth must not later return normally and unload anything under it.
        if (d.state != State::abandoned) {
            d.state = State::disabled;
            d.context->close_host();
        }
        d.reason = "it depends on \"" + root + "\", which is disabled";
        if (options_.observer.disabled) options_.observer.disabled(*it, d.reason);
    }
    auto& e = entries_[index];
    stop_one(e);
    if (e.state != State::abandoned) {
        e.state = State::disabled;
        e.context->close_host();  // a thread it started before failing is told no from now on
    }
    e.reason = reason;
}

void Lifecycle::stop_one(Entry& e) {
    if (e.state != State::initialised && e.state != State::started) return;
    const std::string& name = e.plugin->name;
    const auto stop = e.plugin->lifecycle.stop;
    std::optional<std::string> failure;
    if (stop) {
        e.context->clear_error();
        // On its own thread, so a plugin that never returns cannot hold plinth up. The thread
        // shares ownership of what the plugin may still touch: its host context and its library.
        // An exception escaping the plugin is caught there too: uncaught, it would end plinth
        // through std::terminate.
        observe(e, Step::stop, true);
        std::promise<std::optional<std::string>> done;
        auto finished = done.get_future();
        std::thread worker([stop, context = e.context, library = e.plugin->lifecycle.library,
                            state = e.plugin_state, done = std::move(done)]() mutable {
            std::optional<std::string> outcome;
            try {
                if (stop(context->raw(), state) != PLINTH_OK) outcome = context->error();
            } catch (...) {
                outcome = kThrewAcrossAbi;
            }
            done.set_value(std::move(outcome));
        });
        const bool returned = finished.wait_for(options_.stop_timeout) == std::future_status::ready;
        observe(e, Step::stop, false);
        if (!returned) {
            worker.detach();
            e.state = State::abandoned;
            if (options_.observer.abandoned)
                options_.observer.abandoned(static_cast<std::size_t>(&e - entries_.data()));
            log_->error("plugin \"{}\" did not stop within {}; abandoning it (its thread is left running until "
                       "plinth exits)",
                       name, model::format_duration(options_.stop_timeout));
            return;
        }
        worker.join();
        failure = finished.get();
    }
    e.state = State::stopped;
    // Its threads must be done with the host by now (plinth_plugin.h); one that is not gets an error.
    e.context->close_host();
    if (failure)
        log_->error("plugin \"{}\" failed in stop: {}", name, error_or_placeholder(*failure));
    else
        log_->info("stopped plugin \"{}\"", name);
    if (const auto left = e.context->close_transactions())
        log_->warn("plugin \"{}\" left {} transaction{} open; rolled back", name, left, left == 1 ? "" : "s");
}

}  // namespace plinth::hosting
