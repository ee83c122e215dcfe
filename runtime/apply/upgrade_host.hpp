// Internal to apply/: the plinth_host an upgrade step sees, whichever process it runs in.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include <plinth/plinth_plugin.h>

#include "apply/upgrade.hpp"

namespace plinth::apply {

// Lives for one call of the step. Its functions catch everything (no exception reaches the plugin)
// and run one at a time, whichever of the plugin's threads calls. Results and errors are owned by
// the plugin once returned, as plinth_plugin.h says.
class UpgradeHost {
public:
    UpgradeHost(const std::string& plugin_name, UpgradeBackend& backend);
    UpgradeHost(const UpgradeHost&) = delete;
    UpgradeHost& operator=(const UpgradeHost&) = delete;

    const plinth_host* raw() const noexcept { return &raw_; }

private:
    friend struct UpgradeAbi;
    plinth_host raw_{};
    std::string name_;
    UpgradeBackend& backend_;
    std::mutex mu_;
    std::map<std::string, std::string> config_;  // values handed out stay valid for the call
};

}  // namespace plinth::apply
