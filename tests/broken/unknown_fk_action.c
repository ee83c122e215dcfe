/* A foreign key action outside the enum. */
#include "minimal.h"
static const char *const cols[] = {"id"};
static const plinth_foreign_key fks[] = {{
    .struct_size = sizeof(plinth_foreign_key), .column_count = 1, .columns = cols,
    .ref_table = "widgets", .on_delete = 9,
}};
static const plinth_table tables[] = {{
    .struct_size = sizeof(plinth_table), .column_count = 2, .name = "widgets", .columns = minimal_columns,
    .primary_key = minimal_pk, .primary_key_count = 1, .foreign_keys = fks, .foreign_key_count = 1,
}};
static plinth_plugin_descriptor descriptor = {MINIMAL_DESCRIPTOR_FIELDS};
PLINTH_EXPORT const plinth_plugin_descriptor *plinth_plugin_entry_v1(void) {
    descriptor.tables = tables;
    return &descriptor;
}
