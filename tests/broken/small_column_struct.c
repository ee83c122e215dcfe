/* Columns whose struct_size is smaller than ABI 1.0's plinth_column. */
#include "minimal.h"
static const plinth_column columns[] = {{.struct_size = 8, .name = "id", .type = "uuid"}};
static const plinth_table tables[] = {{
    .struct_size = sizeof(plinth_table), .column_count = 1, .name = "widgets", .columns = columns,
    .primary_key = minimal_pk, .primary_key_count = 1,
}};
static plinth_plugin_descriptor descriptor = {MINIMAL_DESCRIPTOR_FIELDS};
PLINTH_EXPORT const plinth_plugin_descriptor *plinth_plugin_entry_v1(void) {
    descriptor.tables = tables;
    return &descriptor;
}
