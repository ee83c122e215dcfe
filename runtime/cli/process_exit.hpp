// How plinth's executable ends.
#pragma once

namespace plinth::cli {

// Ends the process with `status`. When no plugin library was opened in it, after flushing the logs
// and stdio, without exit handlers: the C++ runtime's and some thirty shared libraries' destructors
// (libpq's dependencies) fault in pages never touched before and cost a no-op start about 5 ms, a
// tenth of it (docs/BENCHMARKS.md, "Fifth round"), and free nothing the kernel would not. A plugin's
// library may rely on its destructors or atexit handlers, so with one opened the process exits
// normally; under AddressSanitizer too, whose leak check runs at exit.
[[noreturn]] void exit_process(int status);

}  // namespace plinth::cli
