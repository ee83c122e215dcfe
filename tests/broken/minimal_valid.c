/* The valid baseline the broken plugins are measured against. */
#include "minimal.h"
static const plinth_plugin_descriptor descriptor = {MINIMAL_DESCRIPTOR_FIELDS};
PLINTH_EXPORT const plinth_plugin_descriptor *plinth_plugin_entry_v1(void) { return &descriptor; }
