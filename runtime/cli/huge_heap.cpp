#include "cli/huge_heap.hpp"

#include "signals/sanitizer.hpp"

#include <cstdint>
#include <cstdlib>
#include <vector>

#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

namespace plinth::cli {

void prefer_huge_heap() {
#ifndef PLINTH_ASAN
    constexpr std::size_t kReserve = std::size_t(64) << 20;
    constexpr std::uintptr_t kHugePage = std::uintptr_t(2) << 20;
    // Each time malloc grows the heap it adds this much; a heap shrunk and grown again would lose
    // the advice (a new mapping), so it is never shrunk below it.
    ::mallopt(M_TOP_PAD, kReserve);
    ::mallopt(M_TRIM_THRESHOLD, 2 * kReserve);
    const auto before = reinterpret_cast<std::uintptr_t>(::sbrk(0));
    // Blocks below the mmap threshold come from the heap: the first that does not fit grows it.
    std::vector<void*> blocks;
    for (int i = 0; i < 64 && reinterpret_cast<std::uintptr_t>(::sbrk(0)) < before + kReserve; ++i)
        blocks.push_back(std::malloc(64 << 10));
    const auto end = reinterpret_cast<std::uintptr_t>(::sbrk(0));
    for (void* block : blocks) std::free(block);
    const std::uintptr_t start = (before + kHugePage - 1) & ~(kHugePage - 1);
    if (end > start) ::madvise(reinterpret_cast<void*>(start), end - start, MADV_HUGEPAGE);
#endif
}

}  // namespace plinth::cli
