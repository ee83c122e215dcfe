#pragma once

namespace plinth::host {

// From now on, every thread the process creates (plinth's, a plugin's, libstdc++'s) gets an
// alternate signal stack, so that the crash handler also reports a stack overflow in it.
void give_threads_alternate_stacks();

}  // namespace plinth::host
