// load::descriptor_digest of one plugin's descriptor, RUNS times in one process (warm caches, no
// page faults): the digest's own cost, apart from the fresh memory of the probe's child. Prints
// the median and the fastest, in ms, and the digest.
// Usage: digest_loop FILE.so [RUNS]   (docs/BENCHMARKS.md, ninth round)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <dlfcn.h>

#include "load/loader.hpp"

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: digest_loop FILE.so [RUNS]\n");
        return 2;
    }
    const int runs = argc > 2 ? std::max(1, std::atoi(argv[2])) : 301;
    void* library = ::dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    auto* entry = library ? reinterpret_cast<const plinth_plugin_descriptor* (*)()>(::dlsym(library, PLINTH_ENTRY_SYMBOL))
                          : nullptr;
    const plinth_plugin_descriptor* descriptor = entry ? entry() : nullptr;
    if (!descriptor || !plinth::load::descriptor_digest(*descriptor)) {
        std::fprintf(stderr, "digest_loop: %s gave no descriptor the loader would read\n", argv[1]);
        return 1;
    }
    std::vector<double> ms;
    std::uint64_t digest = 0;
    for (int i = 0; i < runs; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        digest = *plinth::load::descriptor_digest(*descriptor);
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    std::printf("digest %.3f ms (median of %d), fastest %.3f ms, value %016llx\n", ms[ms.size() / 2], runs, ms[0],
                static_cast<unsigned long long>(digest));
    return 0;
}
