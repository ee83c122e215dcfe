// Process set-up for plinth's executable: the heap in transparent huge pages.
#pragma once

namespace plinth::cli {

// Grows the heap once by 64 MiB and asks the kernel for transparent huge pages there
// (madvise(MADV_HUGEPAGE)), and keeps free memory from being given back below that. Loading
// thousands of tables touches tens of MiB of fresh heap: in 4 KiB pages that is ten thousand page
// faults, each costing microseconds on a virtual machine; in 2 MiB pages a few dozen
// (docs/BENCHMARKS.md, "Third round"). Where the kernel offers none (transparent_hugepage "never"),
// it changes nothing but the heap's reserve. Not under AddressSanitizer, which has its own allocator.
void prefer_huge_heap();

}  // namespace plinth::cli
