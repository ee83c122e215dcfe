// The load probe's child timed apart: in each of RUNS forked children (plinth's huge-page heap, as
// in plinth), dlopen the plugin file, call its entry function, then load::descriptor_digest of the
// descriptor it returned. Prints one line per child, wall-clock ms and then the minor page faults
// of the entry function and of the digest:
//   dlopen entry digest entry_faults digest_faults
// Usage: probe_child FILE.so [RUNS]   (docs/BENCHMARKS.md, sixth round: the median of 11 children)
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include <dlfcn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "load/loader.hpp"
#include "pipeline/huge_heap.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

long minor_faults() {
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    return usage.ru_minflt;
}

[[noreturn]] void child(const char* file) {
    plinth::pipeline::start_heap_at_huge_page();  // as the load probe's child does
    const auto t0 = Clock::now();
    void* library = ::dlopen(file, RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        std::fprintf(stderr, "probe_child: %s\n", ::dlerror());
        ::_exit(1);
    }
    auto* entry = reinterpret_cast<const plinth_plugin_descriptor* (*)()>(::dlsym(library, PLINTH_ENTRY_SYMBOL));
    const long f1 = minor_faults();
    const auto t1 = Clock::now();
    const plinth_plugin_descriptor* descriptor = entry ? entry() : nullptr;
    const auto t2 = Clock::now();
    const long f2 = minor_faults();
    const auto digest = descriptor ? plinth::load::descriptor_digest(*descriptor) : std::nullopt;
    const auto t3 = Clock::now();
    const long f3 = minor_faults();
    if (!digest) {
        std::fprintf(stderr, "probe_child: %s gave no descriptor the loader would read\n", file);
        ::_exit(1);
    }
    std::printf("%.2f %.2f %.2f %ld %ld\n", ms(t1 - t0), ms(t2 - t1), ms(t3 - t2), f2 - f1, f3 - f2);
    std::fflush(stdout);
    ::_exit(0);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: probe_child FILE.so [RUNS]\n");
        return 2;
    }
    plinth::pipeline::prefer_huge_heap();
    const int runs = argc > 2 ? std::atoi(argv[2]) : 11;
    for (int i = 0; i < runs; ++i) {
        const pid_t pid = ::fork();
        if (pid < 0) return 1;
        if (pid == 0) child(argv[1]);
        int status = 0;
        ::waitpid(pid, &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return 1;
    }
    return 0;
}
