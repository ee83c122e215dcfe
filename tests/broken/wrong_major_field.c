/* The v1 symbol, but a descriptor claiming major 2. */
#include "minimal.h"
static plinth_plugin_descriptor descriptor = {MINIMAL_DESCRIPTOR_FIELDS};
PLINTH_EXPORT const plinth_plugin_descriptor *plinth_plugin_entry_v1(void) {
    descriptor.abi_major = 2;
    return &descriptor;
}
