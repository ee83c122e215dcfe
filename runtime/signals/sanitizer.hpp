// Whether this build runs under AddressSanitizer, whose runtime brings its own allocator, its own
// pthread_create and a leak check at exit: the code that would stand in for those steps aside.
#pragma once

#if defined(__SANITIZE_ADDRESS__)
#define PLINTH_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PLINTH_ASAN 1
#endif
#endif
