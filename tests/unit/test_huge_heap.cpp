// The heap's huge pages (pipeline/huge_heap.hpp): a forked child's heap goes on from a 2 MiB
// boundary. Not under AddressSanitizer, whose allocator has no such heap (both calls do nothing).
#include <doctest/doctest.h>

#include <cstdint>

#include <malloc.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pipeline/huge_heap.hpp"
#include "signals/sanitizer.hpp"

namespace {

#ifndef PLINTH_ASAN
// Where the main arena's free space at the end of the heap begins.
std::uintptr_t heap_top() {
    return reinterpret_cast<std::uintptr_t>(::sbrk(0)) - ::mallinfo2().keepcost;
}

// In a child, as the load probe does: 0 when the heap then goes on from a 2 MiB boundary (and a
// second call leaves it there), 2 when the heap was left alone (malloc served the skip from
// elsewhere), 1 otherwise.
[[noreturn]] void child() {
    constexpr std::uintptr_t kHugePage = std::uintptr_t(2) << 20;
    plinth::pipeline::prefer_huge_heap();
    const std::uintptr_t before = heap_top();
    plinth::pipeline::start_heap_at_huge_page();
    const std::uintptr_t after = heap_top();
    if (after == before && before % kHugePage != 0) ::_exit(2);
    plinth::pipeline::start_heap_at_huge_page();
    ::_exit(after % kHugePage == 0 && heap_top() == after ? 0 : 1);
}
#endif

}  // namespace

TEST_CASE("a forked child's heap goes on from the next 2 MiB boundary") {
#ifdef PLINTH_ASAN
    plinth::pipeline::start_heap_at_huge_page();
#else
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) child();
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) != 1);
    // A heap with a free chunk as large as the skip (this process's earlier tests) is left alone.
    if (WEXITSTATUS(status) == 2) MESSAGE("the child's heap was left where it was");
#endif
}
