/* A shared object that is not a plinth plugin: no entry symbol. */
#include <plinth/plinth_plugin.h>
PLINTH_EXPORT int some_other_function(void) { return 42; }
