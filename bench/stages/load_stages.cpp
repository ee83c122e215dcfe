// The first three stages timed apart, in one process, with no database and no command line: load a
// plugins folder, validate what it declares, order it, then free the result. Prints one line of
// process CPU times (user and system: the page faults of a large model are system time) in ms:
//   load validate order free plugins tables
// Usage: load_stages FOLDER   (bench/load_stages.sh runs it)
#include <cstdio>
#include <ctime>
#include <optional>
#include <utility>

#include "load/loader.hpp"
#include "order/order.hpp"
#include "validate/validator.hpp"

namespace {

double cpu_ms() {
    timespec now{};
    ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
    return static_cast<double>(now.tv_sec) * 1e3 + static_cast<double>(now.tv_nsec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: load_stages FOLDER\n");
        return 2;
    }
    const double start = cpu_ms();
    auto loaded = plinth::load::load_folder(argv[1]);
    const double loaded_at = cpu_ms();
    std::optional validation = plinth::validate::validate(std::move(loaded.plugins));
    const double validated_at = cpu_ms();
    std::optional ordering = plinth::order::order(validation->plugins);
    const double ordered_at = cpu_ms();
    std::size_t tables = 0;
    for (const auto& p : validation->plugins) tables += p.tables.size();
    const std::size_t plugins = validation->plugins.size();
    const bool clean = loaded.refusals.empty() && validation->problems.empty();
    ordering.reset();
    validation.reset();
    const double freed_at = cpu_ms();
    std::printf("%.2f %.2f %.2f %.2f %zu %zu\n", loaded_at - start, validated_at - loaded_at, ordered_at - validated_at,
                freed_at - ordered_at, plugins, tables);
    return clean ? 0 : 1;
}
