/* A descriptor whose struct_size is smaller than ABI 1.0's. */
#include "minimal.h"
static plinth_plugin_descriptor descriptor = {MINIMAL_DESCRIPTOR_FIELDS};
PLINTH_EXPORT const plinth_plugin_descriptor *plinth_plugin_entry_v1(void) {
    descriptor.struct_size = 16;
    return &descriptor;
}
