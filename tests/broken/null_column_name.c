/* A NULL entry inside a primary key's column list. */
#include "minimal.h"
static const char *const pk[] = {NULL};
static const plinth_table tables[] = {{
    .struct_size = sizeof(plinth_table), .column_count = 2, .name = "widgets", .columns = minimal_columns,
    .primary_key = pk, .primary_key_count = 1,
}};
static plinth_plugin_descriptor descriptor = {MINIMAL_DESCRIPTOR_FIELDS};
PLINTH_EXPORT const plinth_plugin_descriptor *plinth_plugin_entry_v1(void) {
    descriptor.tables = tables;
    return &descriptor;
}
