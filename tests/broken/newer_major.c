/* Built for a future ABI major: exports the v2 entry symbol only. */
#include "minimal.h"
static const plinth_plugin_descriptor descriptor = {MINIMAL_DESCRIPTOR_FIELDS};
PLINTH_EXPORT const plinth_plugin_descriptor *plinth_plugin_entry_v2(void) { return &descriptor; }
