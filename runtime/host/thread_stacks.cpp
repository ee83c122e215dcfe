#include "host/thread_stacks.hpp"

#include "signals/sanitizer.hpp"

#include <atomic>
#include <csignal>
#include <new>

#include <dlfcn.h>
#include <pthread.h>
#include <sys/mman.h>

// A thread's stack overflow faults on its own, exhausted stack, where no handler can run: the kernel
// then kills the process without the crash report that names the plugin. The crash handler is
// installed with SA_ONSTACK; this gives every thread created after it an alternate stack, by
// standing in for pthread_create in plinth's executable (runtime/plinth.dynamic-list exports it, so
// plugin libraries and libstdc++ bind to it ahead of libc's). Under AddressSanitizer the runtime's
// own pthread_create does the same (use_sigaltstack), and a second definition would replace it.

namespace plinth::host {
namespace {

std::atomic<bool> g_enabled{false};

}  // namespace

void give_threads_alternate_stacks() { g_enabled.store(true); }

}  // namespace plinth::host

#ifndef PLINTH_ASAN
namespace {

constexpr std::size_t kAlternateStackBytes = 64 * 1024;

using PthreadCreate = int (*)(pthread_t*, const pthread_attr_t*, void* (*)(void*), void*);

struct ThreadStart {
    void* (*routine)(void*);
    void* argument;
};

// Unmapped when the thread ends, by return or pthread_exit (thread_local destructors run for both).
struct AlternateStack {
    void* memory = MAP_FAILED;
    AlternateStack() {
        memory = ::mmap(nullptr, kAlternateStackBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK,
                        -1, 0);
        if (memory == MAP_FAILED) return;
        stack_t stack{};
        stack.ss_sp = memory;
        stack.ss_size = kAlternateStackBytes;
        ::sigaltstack(&stack, nullptr);
    }
    ~AlternateStack() {
        if (memory == MAP_FAILED) return;
        stack_t off{};
        off.ss_flags = SS_DISABLE;
        ::sigaltstack(&off, nullptr);
        ::munmap(memory, kAlternateStackBytes);
    }
};

void* start_with_alternate_stack(void* data) {
    const ThreadStart start = *static_cast<ThreadStart*>(data);
    delete static_cast<ThreadStart*>(data);
    thread_local AlternateStack stack;
    return start.routine(start.argument);
}

PthreadCreate real_pthread_create() {
    static const auto real = reinterpret_cast<PthreadCreate>(::dlsym(RTLD_NEXT, "pthread_create"));
    return real;
}

}  // namespace

extern "C" int pthread_create(pthread_t* thread, const pthread_attr_t* attributes, void* (*routine)(void*),
                              void* argument) {
    const auto real = real_pthread_create();
    if (!plinth::host::g_enabled.load(std::memory_order_relaxed))
        return real(thread, attributes, routine, argument);
    auto* start = new (std::nothrow) ThreadStart{routine, argument};
    if (!start) return real(thread, attributes, routine, argument);
    const int status = real(thread, attributes, start_with_alternate_stack, start);
    if (status != 0) delete start;
    return status;
}
#endif
