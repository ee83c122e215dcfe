// Test plugins "beta", "gamma" and "delta": one source built once per name (PLUGIN_NAME, and
// PLUGIN_REQUIRES when it needs another plugin). What each does is driven by its configuration, so
// one folder of plugins covers every lifecycle scenario:
//   fail = "init" | "start"   throw in that step
//   stop_sleep_ms = N         take N ms to stop
#include <plinth/plinth.hpp>

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>

namespace {

class Scripted {
public:
    void init(plinth::host h) { step(h, "init"); }
    void start(plinth::host h) { step(h, "start"); }
    void stop(plinth::host h) {
        h.info("stop");
        if (const auto ms = h.config("stop_sleep_ms")) {
            std::this_thread::sleep_for(std::chrono::milliseconds(std::stol(*ms)));
            h.info("stop finished");
        }
    }

private:
    static void step(plinth::host h, const std::string& name) {
        h.info(name);
        if (h.config("fail") == name) throw std::runtime_error("configured to fail in " + name);
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
