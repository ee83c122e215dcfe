/* The entry symbol is a data object, the descriptor itself, not a function returning it: calling
   it would jump into data. */
#include "minimal.h"
PLINTH_EXPORT const plinth_plugin_descriptor plinth_plugin_entry_v1 = {MINIMAL_DESCRIPTOR_FIELDS};
