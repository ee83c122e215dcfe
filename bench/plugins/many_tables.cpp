// A benchmark plugin whose size is chosen at load time: PLINTH_BENCH_TABLES tables (default 100),
// each with a foreign key to the one before it, an index, a unique constraint and a check, so
// start-up cost can be measured against table count. With PLINTH_BENCH_AGENT_KEY set, it requires
// the core plugin and t0 gets a foreign key into public.agents (bench/writer_stall.sh). A copy of
// the library under another file name, e.g. p017.so, is a plugin of that name in a schema of that
// name, so a folder of copies measures many plugins (bench/load_stages.sh).
#include <cstdlib>
#include <filesystem>
#include <string>

#include <dlfcn.h>

#include <plinth/plinth.hpp>

namespace {

using namespace plinth::columns;

// "bench", or the name of the file this library was loaded from when it is a renamed copy.
std::string plugin_name() {
    Dl_info info{};
    if (::dladdr(reinterpret_cast<void*>(&plugin_name), &info) == 0 || !info.dli_fname) return "bench";
    const std::string stem = std::filesystem::path(info.dli_fname).stem().string();
    return stem == "many_tables" ? "bench" : stem;
}

plinth::plugin describe() {
    const char* env = std::getenv("PLINTH_BENCH_TABLES");
    const int count = env ? std::atoi(env) : 100;
    const bool agent_key = std::getenv("PLINTH_BENCH_AGENT_KEY") != nullptr;
    const std::string own_name = plugin_name();
    plinth::plugin p(own_name, "1.0.0");
    p.schema(own_name);
    if (agent_key) p.requires_plugin("core");
    for (int i = 0; i < count; ++i) {
        const std::string name = "t" + std::to_string(i);
        std::vector<plinth::column> columns;
        columns.reserve(5);
        columns.push_back(uuid("id").primary_key().default_random());
        columns.push_back(text("code").not_null());
        columns.push_back(integer("amount").not_null().default_value(0));
        columns.push_back(timestamptz("created_at").not_null().default_now());
        if (i > 0) columns.push_back(uuid("parent_id").references("t" + std::to_string(i - 1)));
        if (i == 0 && agent_key) columns.push_back(uuid("agent_id").references("public.agents"));
        p.table(plinth::table(name, std::move(columns))
                    .unique({"code"})
                    .add(plinth::index({"created_at"}))
                    .check(name + "_amount_check", "amount >= 0"));
    }
    return p;
}

}  // namespace

PLINTH_PLUGIN(describe)
