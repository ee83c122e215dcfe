/* A table count with no table array behind it. */
#include "minimal.h"
static plinth_plugin_descriptor descriptor = {MINIMAL_DESCRIPTOR_FIELDS};
PLINTH_EXPORT const plinth_plugin_descriptor *plinth_plugin_entry_v1(void) {
    descriptor.tables = NULL;
    descriptor.table_count = 3;
    return &descriptor;
}
