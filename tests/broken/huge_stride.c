/* Columns whose struct_size is 1 GiB, with a count of 2: the second column would lie 1 GiB past
   the first, far outside the array. */
#include "minimal.h"
static const plinth_column columns[] = {{.struct_size = 1u << 30, .name = "id", .type = "uuid"}};
static const plinth_table tables[] = {{
    .struct_size = sizeof(plinth_table), .column_count = 2, .name = "widgets", .columns = columns,
    .primary_key = minimal_pk, .primary_key_count = 1,
}};
static plinth_plugin_descriptor descriptor = {MINIMAL_DESCRIPTOR_FIELDS};
PLINTH_EXPORT const plinth_plugin_descriptor *plinth_plugin_entry_v1(void) {
    descriptor.tables = tables;
    return &descriptor;
}
