/* Built against a later 1.x header than the host knows. */
#include "minimal.h"
static plinth_plugin_descriptor descriptor = {MINIMAL_DESCRIPTOR_FIELDS};
PLINTH_EXPORT const plinth_plugin_descriptor *plinth_plugin_entry_v1(void) {
    descriptor.abi_minor = 7;
    return &descriptor;
}
