#include "pipeline/huge_heap.hpp"

#include "signals/sanitizer.hpp"

#include <cstdint>
#include <cstdlib>
#include <vector>

#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

namespace plinth::pipeline {

namespace {
constexpr std::uintptr_t kHugePage = std::uintptr_t(2) << 20;

std::uintptr_t next_boundary(std::uintptr_t address) { return (address + kHugePage - 1) & ~(kHugePage - 1); }
}  // namespace

void prefer_huge_heap() {
#ifndef PLINTH_ASAN
    constexpr std::size_t kReserve = std::size_t(64) << 20;
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
    const std::uintptr_t start = next_boundary(before);
    if (end > start) ::madvise(reinterpret_cast<void*>(start), end - start, MADV_HUGEPAGE);
#endif
}

void start_heap_at_huge_page() {
#ifndef PLINTH_ASAN
    // The main arena's free space at the heap's end (its "top" chunk) is keepcost bytes long.
    const auto end = reinterpret_cast<std::uintptr_t>(::sbrk(0));
    const std::uintptr_t top = end - ::mallinfo2().keepcost;
    const std::uintptr_t boundary = next_boundary(top);
    constexpr std::uintptr_t kHeader = 2 * sizeof(std::size_t);  // a chunk's header, before its memory
    // The smallest chunk glibc makes is 32 bytes; a gap smaller than that is no gap worth a page.
    if (boundary - top < 32 || boundary >= end) return;
    // A chunk carved from the top chunk, ending at the boundary, never freed. When malloc answers
    // otherwise (a free chunk of that size reused, a mapping of its own) it is given back and the
    // heap stays as it was.
    void* skipped = std::malloc(boundary - top - kHeader);
    if (reinterpret_cast<std::uintptr_t>(skipped) != top + kHeader) {
        std::free(skipped);
        return;
    }
    // The heap may have grown past the parent's advice.
    ::madvise(reinterpret_cast<void*>(boundary), end - boundary, MADV_HUGEPAGE);
#endif
}

}  // namespace plinth::pipeline
