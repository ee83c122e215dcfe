/* A descriptor with an empty plugin name. */
#include "minimal.h"
static plinth_plugin_descriptor descriptor = {MINIMAL_DESCRIPTOR_FIELDS};
PLINTH_EXPORT const plinth_plugin_descriptor *plinth_plugin_entry_v1(void) {
    descriptor.name = "";
    return &descriptor;
}
