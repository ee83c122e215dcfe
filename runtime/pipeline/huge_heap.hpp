// The heap in transparent huge pages: for plinth's process, and for the load probe's child.
#pragma once

namespace plinth::pipeline {

// Grows the heap once by 64 MiB and asks the kernel for transparent huge pages there
// (madvise(MADV_HUGEPAGE)), and keeps free memory from being given back below that. Loading
// thousands of tables touches tens of MiB of fresh heap: in 4 KiB pages that is ten thousand page
// faults, each costing microseconds on a virtual machine; in 2 MiB pages a few dozen
// (docs/BENCHMARKS.md, "Third round"). Where the kernel offers none (transparent_hugepage "never"),
// it changes nothing but the heap's reserve. Not under AddressSanitizer, which has its own allocator.
// Called once, first thing in main.
void prefer_huge_heap();

// For a forked child, first thing: the heap goes on from the next 2 MiB boundary, so that what the
// child allocates lies in huge pages of its own. Without it the child allocates first where the
// parent left off: in the heap's first, partial 2 MiB (never a huge page, as the heap does not
// start on a boundary) or in a huge page the parent touched (which the child's first write splits),
// either way 4 KiB faults: up to 500 in the bench plugin's entry function at 5,000 tables, 11 us
// each on the virtual machine of docs/BENCHMARKS.md's twelfth round. The space skipped is never
// touched, so it costs no memory.
void start_heap_at_huge_page();

}  // namespace plinth::pipeline
