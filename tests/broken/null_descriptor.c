/* An entry point that returns NULL. */
#include <plinth/plinth_plugin.h>
PLINTH_EXPORT const plinth_plugin_descriptor *plinth_plugin_entry_v1(void) { return NULL; }
