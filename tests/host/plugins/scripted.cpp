// Test plugins "beta", "gamma" and "delta": one source built once per name (PLUGIN_NAME, and
// PLUGIN_REQUIRES when it needs another plugin). What each does is driven by its configuration, so
// one folder of plugins covers every lifecycle scenario:
//   fail = "init" | "start"   throw in that step
//   fail_message = TEXT       the error of that failure instead of "configured to fail in <step>"
//   stop_sleep_ms = N         take N ms to stop
//   late_queries = FILE       from start on, a thread queries without end, past stop; once
//                             plinth has refused 100 queries it writes plinth's last answer to FILE
#include <plinth/plinth.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>

namespace {

class Scripted {
public:
    void init(plinth::host h) { step(h, "init"); }
    void start(plinth::host h) {
        step(h, "start");
        if (const auto report = h.config("late_queries")) std::thread(query_past_stop, h.raw(), *report).detach();
    }
    void stop(plinth::host h) {
        h.info("stop");
        if (const auto ms = h.config("stop_sleep_ms")) {
            std::this_thread::sleep_for(std::chrono::milliseconds(std::stol(*ms)));
            h.info("stop finished");
        }
    }

private:
    // Breaks the rule that a plugin's threads are done with the host when stop returns, through the
    // C functions alone: nothing of the SDK or the plugin's state is used after stop.
    static void query_past_stop(const plinth_host* raw, std::string report) {
        std::string answer;
        for (int refused = 0; refused < 100;) {
            plinth_db_result* result = nullptr;
            plinth_db_error* error = nullptr;
            if (raw->db_query(raw, nullptr, "SELECT 1", 0, nullptr, &result, &error) == PLINTH_OK) {
                raw->db_result_free(raw, result);
            } else {
                ++refused;
                answer = error && error->message ? error->message : "(no error)";
                raw->db_error_free(raw, error);
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        // Written aside, then renamed: the file appears complete or not at all.
        std::ofstream(report + ".tmp") << answer;
        std::rename((report + ".tmp").c_str(), report.c_str());
    }

    static void step(plinth::host h, const std::string& name) {
        h.info(name);
        if (h.config("fail") == name)
            throw std::runtime_error(h.config("fail_message").value_or("configured to fail in " + name));
    }
};

plinth::plugin describe() {
    plinth::plugin plugin(PLUGIN_NAME, "1.0.0");
#ifdef PLUGIN_REQUIRES
    plugin.requires_plugin(PLUGIN_REQUIRES);
#endif
    return plugin.runs<Scripted>();
}

}  // namespace

PLINTH_PLUGIN(describe)
